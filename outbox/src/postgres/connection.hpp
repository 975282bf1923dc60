// Small helpers over libpq shared by the outbox and the store.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fleet/outbox/postgres.hpp"

namespace fleet::outbox::postgres {

// Errc::unavailable when the connection is gone (retrying after a reconnect helps), Errc::conflict
// for serialization failures and deadlocks, Errc::io otherwise.
Error error_of(PGconn* conn, const PGresult* result, std::string_view what);

// A text parameter; std::nullopt is SQL NULL.
using Param = std::optional<std::string>;

// Runs `sql` with text parameters. Results come back in text format unless `binary`.
Result<ResultSet> query(PGconn* conn, std::string_view what, const char* sql,
                        const std::vector<Param>& params = {}, bool binary = false);

}  // namespace fleet::outbox::postgres
