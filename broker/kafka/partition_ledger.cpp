#include "kafka/partition_ledger.hpp"

#include <algorithm>
#include <charconv>

namespace fleet::broker::kafka {
namespace {

bool parse_int(std::string_view& text, std::int64_t& value, char stop) {
  const auto end = text.find(stop);
  const auto part = text.substr(0, end);
  auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
  if (ec != std::errc() || ptr != part.data() + part.size()) return false;
  text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  return true;
}

}  // namespace

PartitionLedger::PartitionLedger(std::int64_t committed, std::string_view metadata)
    : base_(committed), end_(committed), saved_offset_(committed) {
  // Malformed metadata (another client's) is ignored: counting restarts at 1.
  while (!metadata.empty()) {
    std::int64_t first = 0, last = 0, count = 0;
    if (!parse_int(metadata, first, '-') || !parse_int(metadata, last, ':') ||
        !parse_int(metadata, count, ',') || last < first || count <= 0) {
      prior_.clear();
      break;
    }
    prior_.push_back({first, last, static_cast<std::uint32_t>(count)});
  }
}

std::uint32_t PartitionLedger::prior_count(std::int64_t offset) const {
  for (const auto& run : prior_) {
    if (offset >= run.first && offset <= run.last) return run.count;
  }
  return 0;
}

std::uint32_t PartitionLedger::fetched(std::int64_t offset) {
  if (base_ < 0) base_ = saved_offset_ = end_ = offset;
  end_ = std::max(end_, offset + 1);
  if (offset < base_) return 0;  // settled and committed past already
  if (auto it = entries_.find(offset); it != entries_.end() && it->second.settled) return 0;
  auto& entry = entries_[offset];
  entry.deliveries = std::max(entry.deliveries, prior_count(offset)) + 1;
  entry.settled = false;
  ++counts_version_;
  return entry.deliveries;
}

std::uint32_t PartitionLedger::redelivered(std::int64_t offset) {
  auto& entry = entries_[offset];
  ++entry.deliveries;
  ++counts_version_;
  return entry.deliveries;
}

void PartitionLedger::settle(std::int64_t offset) {
  auto it = entries_.find(offset);
  if (it == entries_.end()) return;
  it->second.settled = true;
  // Drop the settled prefix: those offsets are committed past from now on.
  while (!entries_.empty() && entries_.begin()->second.settled) {
    base_ = entries_.begin()->first + 1;
    entries_.erase(entries_.begin());
  }
  std::erase_if(prior_, [this](const Run& run) { return run.last < base_; });
}

PartitionLedger::Arrival PartitionLedger::arrived(std::int64_t offset) {
  if (end_ < 0 || offset <= end_) return Arrival::take;
  if (rewind_pending_) return Arrival::drop;
  if (rewind_from_ != end_) {
    rewind_from_ = end_;
    rewind_pending_ = true;
    return Arrival::rewind;
  }
  // Nothing between end_ and offset is in the log. With nothing outstanding before the hole,
  // the commit offset moves over it at once; otherwise settle() passes it later.
  if (entries_.empty() && base_ == end_) base_ = offset;
  end_ = offset;
  return Arrival::take;
}

std::int64_t PartitionLedger::commit_offset() const {
  return entries_.empty() ? base_ : entries_.begin()->first;
}

std::int64_t PartitionLedger::delivered_end() const {
  std::int64_t end = base_;
  for (const auto& run : prior_) end = std::max(end, run.last + 1);
  return end;
}

std::string PartitionLedger::metadata(std::size_t max_bytes) const {
  const std::int64_t from = commit_offset();
  // Counts per offset: this owner's, and the previous owner's for offsets not fetched again yet.
  std::vector<Run> runs;
  auto add = [&runs](std::int64_t first, std::int64_t last, std::uint32_t count) {
    if (!runs.empty() && runs.back().count == count && runs.back().last + 1 >= first) {
      runs.back().last = std::max(runs.back().last, last);
    } else {
      runs.push_back({first, last, count});
    }
  };
  // Prior runs with this owner's offsets cut out (its own counts are newer), then its own.
  std::vector<Run> pieces;
  for (const auto& run : prior_) {
    std::int64_t cursor = std::max(run.first, from);
    for (auto it = entries_.lower_bound(cursor); it != entries_.end() && it->first <= run.last;
         ++it) {
      if (cursor < it->first) pieces.push_back({cursor, it->first - 1, run.count});
      cursor = it->first + 1;
    }
    if (cursor <= run.last) pieces.push_back({cursor, run.last, run.count});
  }
  for (const auto& [offset, entry] : entries_) {
    if (!entry.settled) pieces.push_back({offset, offset, entry.deliveries});
  }
  std::sort(pieces.begin(), pieces.end(),
            [](const Run& a, const Run& b) { return a.first < b.first; });
  for (const auto& piece : pieces) add(piece.first, piece.last, piece.count);
  auto text = [&runs] {
    std::string out;
    for (const auto& run : runs) {
      if (!out.empty()) out += ',';
      out += std::to_string(run.first) + '-' + std::to_string(run.last) + ':' +
             std::to_string(run.count);
    }
    return out;
  };
  std::string out = text();
  while (out.size() > max_bytes && runs.size() > 1) {
    // Merge neighbours pairwise, keeping the higher count: attempts may only be overcounted.
    std::vector<Run> merged;
    for (std::size_t i = 0; i < runs.size(); i += 2) {
      Run run = runs[i];
      if (i + 1 < runs.size()) {
        run.last = runs[i + 1].last;
        run.count = std::max(run.count, runs[i + 1].count);
      }
      merged.push_back(run);
    }
    runs = std::move(merged);
    out = text();
  }
  return out;
}

}  // namespace fleet::broker::kafka
