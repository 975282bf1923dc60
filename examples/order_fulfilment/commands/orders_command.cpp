// fleet-demo orders: the order_summary read model — every order's saga status, from SQLite.
// fleet-demo projection rebuild order_summary: replays the lifecycle stream into a fresh read
// model.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "broker_options.hpp"
#include "order_commands.hpp"
#include "order_fulfilment/order_summary.hpp"

namespace fleet::cli {
namespace {

struct OrdersOptions {
  std::string db;
  std::string status;
  std::string id;
  std::size_t limit = 0;
  bool json = false;
};

projection::OrderSummary open_or_throw(const std::string& path) {
  auto summary = projection::OrderSummary::open(path);
  if (!summary) throw CommandError("cannot open " + path + ": " + summary.error().message);
  return std::move(*summary);
}

nlohmann::json to_json(const projection::OrderRow& r) {
  return {{"order_id", r.order_id}, {"status", r.status},       {"step", r.step},
          {"reason", r.reason},     {"version", r.version},     {"customer_id", r.customer_id},
          {"sku", r.sku},           {"quantity", r.quantity},   {"amount_cents", r.amount_cents},
          {"region", r.region},     {"placed_at", r.placed_at}, {"updated_at", r.updated_at}};
}

void run_orders(const OrdersOptions& o) {
  auto summary = open_or_throw(o.db);
  auto rows = summary.query({.status = o.status, .order_id = o.id, .limit = o.limit});
  if (!rows) throw CommandError("cannot read " + o.db + ": " + rows.error().message);
  if (!o.id.empty() && rows->empty()) throw CommandError("no order " + o.id + " in " + o.db);
  if (o.json) {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& r : *rows) all.push_back(to_json(r));
    std::cout << all.dump() << "\n";
    return;
  }
  std::printf("%-24s %-13s %-10s %10s %-10s %s\n", "ORDER", "STATUS", "STEP", "AMOUNT", "REGION",
              "REASON");
  for (const auto& r : *rows) {
    std::printf("%-24s %-13s %-10s %10.2f %-10s %s\n", r.order_id.c_str(), r.status.c_str(),
                r.step.c_str(), static_cast<double>(r.amount_cents) / 100.0, r.region.c_str(),
                r.reason.c_str());
  }
  std::printf("%zu order(s)\n", rows->size());
}

struct RebuildOptions {
  BrokerOptions nats;
  std::string name;
  std::string db;
  bool json = false;
};

void run_rebuild(const RebuildOptions& o) {
  auto summary = open_or_throw(o.db);
  auto transport = connect_or_throw(o.nats);
  auto report = projection::rebuild(*transport, summary, "SAGA", "saga.orders.lifecycle.>");
  if (!report) throw CommandError("rebuild failed: " + report.error().describe());
  auto rows = summary.query({});
  if (o.json) {
    std::cout << nlohmann::json{{"read_model", o.name},       {"db", o.db},
                                {"events", report->events},   {"applied", report->applied},
                                {"skipped", report->skipped}, {"orders", rows ? rows->size() : 0}}
                     .dump()
              << "\n";
    return;
  }
  std::printf("rebuilt %s in %s: %llu events read, %llu applied, %llu skipped, %zu orders\n",
              o.name.c_str(), o.db.c_str(), static_cast<unsigned long long>(report->events),
              static_cast<unsigned long long>(report->applied),
              static_cast<unsigned long long>(report->skipped), rows ? rows->size() : 0);
}

}  // namespace

void add_orders_command(CLI::App& app) {
  auto o = std::make_shared<OrdersOptions>();
  o->db = projection::default_path();
  auto* command = app.add_subcommand("orders", "Orders and their saga status (order_summary)");
  command->add_option("--db", o->db, "Read model file (env FLEET_ORDER_SUMMARY_DB)")
      ->capture_default_str();
  command->add_option("--status", o->status, "Only this status")
      ->check(CLI::IsMember({"running", "compensating", "completed", "failed"}));
  command->add_option("--id", o->id, "Only this order");
  command->add_option("--limit", o->limit, "At most this many rows (0 = all)");
  command->add_flag("--json", o->json, "Print one JSON array instead of a table");
  command->callback([o] { run_orders(*o); });
}

void add_projection_command(CLI::App& app) {
  auto o = std::make_shared<RebuildOptions>();
  o->db = projection::default_path();
  auto* projection = app.add_subcommand("projection", "Read models fed by the event log");
  projection->require_subcommand(1);
  auto* rebuild =
      projection->add_subcommand("rebuild", "Rebuild a read model from the start of its stream");
  rebuild->add_option("name", o->name, "Read model")
      ->required()
      ->check(CLI::IsMember({"order_summary"}));
  rebuild->add_option("--db", o->db, "Read model file (env FLEET_ORDER_SUMMARY_DB)")
      ->capture_default_str();
  add_broker_options(*rebuild, o->nats);
  rebuild->add_flag("--json", o->json, "One JSON object with the counts");
  rebuild->callback([o] { run_rebuild(*o); });
}

}  // namespace fleet::cli
