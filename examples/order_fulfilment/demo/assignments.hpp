// On Kafka a durable exists (its worker subscribed) before its consumer group has handed it any
// partitions: the dev cluster holds each group's first round for about 3 s. The demo's latency
// counts from an order placed, so on Kafka it also waits for every group's first assignment,
// read from the workers' logs ("kafka partitions assigned", which fleet-worker writes on each
// assignment with the durable).
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace fleet::demo {

// Waits until every durable in `durables` was assigned partitions, as the *.log files in
// `log_dir` say, or `timeout` passed. Returns the durables still without an assignment (empty:
// all assigned).
std::vector<std::string> wait_for_assignments(const std::filesystem::path& log_dir,
                                              const std::vector<std::string>& durables,
                                              std::chrono::milliseconds timeout);

}  // namespace fleet::demo
