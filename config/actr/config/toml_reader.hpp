#pragma once
// Internal to actr_config (not installed with the public headers): reading TOML tables with errors
// that name the file, the line and column, and the dotted key, and with unknown keys rejected, so a
// typo never silently falls back to a default.

#include <toml++/toml.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "actr/protocol/error.hpp"

namespace actr::config::detail {

/// Collects the first error of a load. Readers keep going after an error (their results are then
/// ignored), so loaders read straight through and check once at the end.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  /// "<file>:<line>:<column>: <message>", or "<file>: <message>" when the position is unknown.
  void error(const toml::source_region* where, std::string message);
  bool failed() const { return error_.has_value(); }
  const Error& first() const { return *error_; }
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::optional<Error> error_;
};

/// Parses TOML text; a syntax error lands in `diag` and yields an empty table.
toml::table parse_toml(std::string_view text, Diagnostics& diag);

/// Reads the keys of one table. Every accessor marks its key as known; finish() reports the rest.
class TableReader {
 public:
  /// `path` is the table's dotted key ("" for the document root), used in messages.
  TableReader(Diagnostics& diag, const toml::table& table, std::string path);

  std::optional<std::string> string(std::string_view key, bool required = false);
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max,
                                      bool required = false);
  std::optional<bool> boolean(std::string_view key);
  std::optional<std::vector<std::string>> strings(std::string_view key);
  std::optional<TableReader> table(std::string_view key, bool required = false);
  /// An array of tables ([[key]]); empty when absent.
  std::vector<TableReader> tables(std::string_view key);
  /// The raw value of `key` (marked known), nullptr when absent.
  const toml::node* node(std::string_view key);

  /// Reports `message` at the value of `key`: "<file>:<l>:<c>: key '<path.key>': <message>".
  void invalid(std::string_view key, std::string_view message);
  /// Reports an unexpected type at `key`, naming the expected one.
  void wrong_type(std::string_view key, const toml::node& value, std::string_view expected);
  /// Unknown keys (those no accessor asked for) become an error.
  void finish();

  std::string key_path(std::string_view key) const;
  const std::string& path() const { return path_; }
  const toml::table& raw() const { return *table_; }
  Diagnostics& diagnostics() const { return *diag_; }

 private:
  void missing(std::string_view key, bool table = false);

  Diagnostics* diag_;
  const toml::table* table_;
  std::string path_;
  std::set<std::string, std::less<>> known_;
};

/// Reads a whole file; NotFound when it is missing, with the path in the message.
Result<std::string> read_text_file(const std::filesystem::path& path);

/// Writes `text` to a temporary file beside `path` and renames it over `path`, so readers never see
/// half a file.
Result<void> write_text_file(const std::filesystem::path& path, std::string_view text);

/// "string", "integer", "table", ... for messages.
std::string_view type_name(const toml::node& node);

}  // namespace actr::config::detail
