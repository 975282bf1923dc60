// NATS header blocks written and read by fleet instead of through cnats' header map.
//
// cnats 3.4 keeps a message's headers in a hash map: every natsMsgHeader_Set copies the name and
// the value into three allocations and a hash entry, and the first natsMsgHeader_Get on a
// received message parses the whole block into such a map. A worker does that for every
// follow-up it publishes and every delivery it reads, which made the header map about a sixth of
// a saga worker's CPU (docs/benchmarks.md). Here the block ("NATS/1.0\r\nName: value\r\n...\r\n")
// is encoded once into the message's own buffer, and a received block is read in place.
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string_view>

#include "connection.hpp"
#include "fleet/error.hpp"
#include "fleet/headers.hpp"

namespace fleet::broker::jetstream {

// A header sent beside a message's own headers (the dedup id, an expected sequence); skipped
// when its value is empty, and it replaces a message header of the same name.
struct HeaderField {
  std::string_view name;
  std::string_view value;
};

// A message for `subject` carrying `headers`, then `extra`, then `body`, created in one
// allocation with its header block already encoded (no header map), or a plain message when
// there is no header. CR and LF in values are sent as spaces, as cnats does; a name that is
// empty, holds ':', CR or LF, or starts with white space is refused (Errc::invalid_argument).
Result<MsgPtr> make_message(std::string_view subject, const Headers& headers,
                            std::span<const HeaderField> extra, std::string_view body);

// The header block of a message cnats received off the wire (a subscription's message, a
// request's answer), read where cnats stored it and split into fields once. `of` answers
// nullopt when the block cannot be read in place (cnats already parsed it into its map, or it
// folds lines): use cnats' API then (ReceivedHeaders does).
class HeaderBlock {
 public:
  static std::optional<HeaderBlock> of(const natsMsg* msg);
  // Parses `text`, the block without the NUL cnats puts after it; nullopt when malformed.
  static std::optional<HeaderBlock> parse(std::string_view text);

  // The first value of `name` (exact case, as cnats compares), trimmed as cnats trims it.
  std::optional<std::string_view> get(std::string_view name) const;
  // The status of a block whose first line carries one ("NATS/1.0 404 Message Not Found"):
  // "404", and its description "Message Not Found"; "" when there is none.
  std::string_view status() const { return status_; }
  std::string_view description() const { return description_; }
  // Calls f(name, value) for every header line, in order.
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < count_; ++i) f(fields_[i].name, fields_[i].value);
  }

 private:
  // Enough for fleet's envelope and JetStream's own headers; a block with more is left to cnats.
  static constexpr std::size_t kMaxFields = 24;
  std::array<HeaderField, kMaxFields> fields_{};
  std::size_t count_ = 0;
  std::string_view status_;
  std::string_view description_;
};

// The headers of a message cnats received: its block read in place when it can be (split once,
// no header map), otherwise through cnats. "Status" and "Description" name the status line's
// parts, as in cnats. The message must outlive this and the values it returns.
class ReceivedHeaders {
 public:
  explicit ReceivedHeaders(natsMsg* msg) : msg_(msg), block_(HeaderBlock::of(msg)) {}
  std::optional<std::string_view> get(std::string_view name) const;

 private:
  natsMsg* msg_;
  std::optional<HeaderBlock> block_;
};

}  // namespace fleet::broker::jetstream
