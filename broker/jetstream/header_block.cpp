#include "header_block.hpp"

#include <cctype>
#include <climits>
#include <cstring>
#include <string>

#include "status.hpp"

// cnats 3.4's own message constructor (src/msg.c), exported by libnats but not declared in
// nats.h: subject, reply and `buf` (the header block's `hdr_len` bytes, then the body) are
// copied into one allocation after the message struct, the block kept as received (read on
// demand) and never put into a header map unless someone asks cnats for a header. Received
// messages are made by the same function, which is what HeaderBlock::of relies on.
extern "C" natsStatus natsMsg_create(natsMsg** new_msg, const char* subject, int subject_len,
                                     const char* reply, int reply_len, const char* buf, int buf_len,
                                     int hdr_len);

namespace fleet::broker::jetstream {
namespace {

constexpr std::string_view kVersionLine = "NATS/1.0";
constexpr std::string_view kCrlf = "\r\n";

bool space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

// Trimmed as cnats trims a header value: leading and trailing white space.
std::string_view trim(std::string_view text) {
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return text;
}

// What would break the block: an empty name, ':', CR or LF, or leading white space (read as
// the previous value's continuation). cnats sends other names as they are, spaces included.
bool valid_name(std::string_view name) {
  return !name.empty() && !space(name.front()) &&
         name.find_first_of(":\r\n") == std::string_view::npos;
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ");
  const auto at = out.size();
  out.append(value);
  for (auto i = at; i < out.size(); ++i) {
    if (out[i] == '\r' || out[i] == '\n') out[i] = ' ';
  }
  out.append(kCrlf);
}

}  // namespace

Result<MsgPtr> make_message(std::string_view subject, const Headers& headers,
                            std::span<const HeaderField> extra, std::string_view body) {
  const auto what = [&] { return "message for subject '" + std::string(subject) + "'"; };
  if (subject.empty() || subject.size() > static_cast<std::size_t>(INT_MAX)) {
    return fleet::fail(Errc::invalid_argument, what() + ": no subject");
  }
  const auto replaced = [&](std::string_view name) {
    for (const auto& field : extra) {
      if (!field.value.empty() && field.name == name) return true;
    }
    return false;
  };
  // Reused per thread: natsMsg_create copies it.
  thread_local std::string buffer;
  buffer.assign(kVersionLine).append(kCrlf);
  bool any = false;
  for (const auto& [name, value] : headers) {
    if (!valid_name(name))
      return fleet::fail(Errc::invalid_argument, what() + ": header '" + name + "'");
    if (replaced(name)) continue;
    append_field(buffer, name, value);
    any = true;
  }
  for (const auto& field : extra) {
    if (field.value.empty()) continue;
    append_field(buffer, field.name, field.value);
    any = true;
  }
  if (any) {
    buffer.append(kCrlf);
  } else {
    buffer.clear();
  }
  const std::size_t header_size = buffer.size();
  if (body.size() > static_cast<std::size_t>(INT_MAX) - header_size) {
    return fleet::fail(Errc::invalid_argument, what() + ": larger than 2 GiB");
  }
  buffer.append(body);
  natsMsg* raw = nullptr;
  const natsStatus s = natsMsg_create(&raw, subject.data(), static_cast<int>(subject.size()),
                                      nullptr, 0, buffer.data(), static_cast<int>(buffer.size()),
                                      any ? static_cast<int>(header_size) : 0);
  MsgPtr msg(raw);
  // A one-off large body does not stay with the thread.
  if (buffer.capacity() > (std::size_t{1} << 20)) std::string().swap(buffer);
  if (s != NATS_OK) return fail(s, what());
  return msg;
}

std::optional<HeaderBlock> HeaderBlock::of(const natsMsg* msg) {
  const char* subject = natsMsg_GetSubject(msg);
  const char* data = natsMsg_GetData(msg);
  if (subject == nullptr || data == nullptr) return std::nullopt;
  // After the struct: subject, NUL, [reply, NUL], [block, NUL], body.
  const char* reply = natsMsg_GetReply(msg);
  const char* start =
      reply != nullptr ? reply + std::strlen(reply) + 1 : subject + std::strlen(subject) + 1;
  if (data < start) return std::nullopt;
  const auto size = static_cast<std::size_t>(data - start);
  if (size == 0) return HeaderBlock{};  // no header block
  if (start[size - 1] != '\0') return std::nullopt;
  return parse(std::string_view(start, size - 1));
}

std::optional<HeaderBlock> HeaderBlock::parse(std::string_view text) {
  if (!text.starts_with(kVersionLine)) return std::nullopt;
  const auto first_end = text.find(kCrlf);
  if (first_end == std::string_view::npos) return std::nullopt;
  HeaderBlock block;
  // "NATS/1.0 503" or "NATS/1.0 408 Request Timeout": a 3-digit status, then its description.
  std::string_view status = text.substr(kVersionLine.size(), first_end - kVersionLine.size());
  if (!status.empty() && !space(status.front())) return std::nullopt;  // "NATS/1.01" is not it
  status = trim(status);
  block.status_ = status.substr(0, 3);
  block.description_ = trim(status.substr(block.status_.size()));
  // Every line "Name: value", then an empty line ending the block; a folded line (starting
  // with white space) or a name cnats has cut at its ':' (parsed in place) is left to cnats.
  std::string_view rest = text.substr(first_end + kCrlf.size());
  while (!rest.starts_with(kCrlf)) {
    const auto end = rest.find(kCrlf);
    if (end == std::string_view::npos || block.count_ == kMaxFields) return std::nullopt;
    const std::string_view line = rest.substr(0, end);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || !valid_name(line.substr(0, colon))) {
      return std::nullopt;
    }
    block.fields_[block.count_++] = {line.substr(0, colon), trim(line.substr(colon + 1))};
    rest.remove_prefix(end + kCrlf.size());
  }
  if (rest.size() != kCrlf.size()) return std::nullopt;
  return block;
}

std::optional<std::string_view> HeaderBlock::get(std::string_view name) const {
  for (std::size_t i = 0; i < count_; ++i) {
    if (fields_[i].name == name) return fields_[i].value;
  }
  return std::nullopt;
}

std::optional<std::string_view> ReceivedHeaders::get(std::string_view name) const {
  if (block_) {
    if (name == "Status" && !block_->status().empty()) return block_->status();
    if (name == "Description" && !block_->description().empty()) return block_->description();
    return block_->get(name);
  }
  // cnats wants a C string; header names are short.
  char key[128];
  if (name.size() >= sizeof key) return std::nullopt;
  name.copy(key, name.size());
  key[name.size()] = '\0';
  const char* value = nullptr;
  if (natsMsgHeader_Get(msg_, key, &value) != NATS_OK) return std::nullopt;
  return value != nullptr ? std::string_view(value) : std::string_view();
}

}  // namespace fleet::broker::jetstream
