#include "actr/config/toml_reader.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

namespace actr::config::detail {

void Diagnostics::error(const toml::source_region* where, std::string message) {
  if (error_) return;  // the first error is the one worth fixing first
  std::string text;
  if (where && where->begin.line > 0) {
    text = fmt::format("{}:{}:{}: {}", file_, where->begin.line, where->begin.column, message);
  } else {
    text = fmt::format("{}: {}", file_, message);
  }
  error_ = Error{ErrorCode::InvalidArgument, std::move(text)};
}

toml::table parse_toml(std::string_view text, Diagnostics& diag) {
  try {
    return toml::parse(text, diag.file());
  } catch (const toml::parse_error& e) {
    diag.error(&e.source(), std::string(e.description()));
    return {};
  }
}

std::string_view type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

TableReader::TableReader(Diagnostics& diag, const toml::table& table, std::string path)
    : diag_(&diag), table_(&table), path_(std::move(path)) {}

std::string TableReader::key_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
}

const toml::node* TableReader::node(std::string_view key) {
  known_.emplace(key);
  return table_->get(key);
}

void TableReader::invalid(std::string_view key, std::string_view message) {
  const toml::node* value = table_->get(key);
  diag_->error(value ? &value->source() : &table_->source(),
               fmt::format("key '{}': {}", key_path(key), message));
}

void TableReader::wrong_type(std::string_view key, const toml::node& value, std::string_view expected) {
  invalid(key, fmt::format("expected {}, got {}", expected, type_name(value)));
}

void TableReader::missing(std::string_view key, bool table) {
  // The root table has no useful position; a named table points at its header.
  const toml::source_region* where = path_.empty() ? nullptr : &table_->source();
  diag_->error(where, table ? fmt::format("missing required table [{}]", key_path(key))
                            : fmt::format("missing required key '{}'", key_path(key)));
}

std::optional<std::string> TableReader::string(std::string_view key, bool required) {
  const toml::node* value = node(key);
  if (!value) {
    if (required) missing(key);
    return std::nullopt;
  }
  if (const auto* text = value->as_string()) return text->get();
  wrong_type(key, *value, "a string");
  return std::nullopt;
}

std::optional<std::int64_t> TableReader::integer(std::string_view key, std::int64_t min, std::int64_t max,
                                                 bool required) {
  const toml::node* value = node(key);
  if (!value) {
    if (required) missing(key);
    return std::nullopt;
  }
  const auto* number = value->as_integer();
  if (!number) {
    wrong_type(key, *value, "an integer");
    return std::nullopt;
  }
  if (number->get() < min || number->get() > max) {
    invalid(key, fmt::format("{} is out of range ({}..{})", number->get(), min, max));
    return std::nullopt;
  }
  return number->get();
}

std::optional<bool> TableReader::boolean(std::string_view key) {
  const toml::node* value = node(key);
  if (!value) return std::nullopt;
  if (const auto* flag = value->as_boolean()) return flag->get();
  wrong_type(key, *value, "a boolean");
  return std::nullopt;
}

std::optional<std::vector<std::string>> TableReader::strings(std::string_view key) {
  const toml::node* value = node(key);
  if (!value) return std::nullopt;
  const auto* array = value->as_array();
  if (!array) {
    wrong_type(key, *value, "an array of strings");
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& item = *array->get(i);
    const auto* text = item.as_string();
    if (!text) {
      diag_->error(&item.source(),
                   fmt::format("key '{}[{}]': expected a string, got {}", key_path(key), i, type_name(item)));
      return std::nullopt;
    }
    out.push_back(text->get());
  }
  return out;
}

std::optional<TableReader> TableReader::table(std::string_view key, bool required) {
  const toml::node* value = node(key);
  if (!value) {
    if (required) missing(key, true);
    return std::nullopt;
  }
  if (const auto* sub = value->as_table()) return TableReader(*diag_, *sub, key_path(key));
  wrong_type(key, *value, "a table");
  return std::nullopt;
}

std::vector<TableReader> TableReader::tables(std::string_view key) {
  std::vector<TableReader> out;
  const toml::node* value = node(key);
  if (!value) return out;
  const auto* array = value->as_array();
  if (!array) {
    wrong_type(key, *value, fmt::format("an array of tables ([[{}]])", key_path(key)));
    return out;
  }
  for (std::size_t i = 0; i < array->size(); ++i) {
    const toml::node& item = *array->get(i);
    const auto* sub = item.as_table();
    if (!sub) {
      diag_->error(&item.source(),
                   fmt::format("key '{}[{}]': expected a table, got {}", key_path(key), i, type_name(item)));
      return {};
    }
    out.emplace_back(*diag_, *sub, fmt::format("{}[{}]", key_path(key), i));
  }
  return out;
}

void TableReader::finish() {
  for (const auto& [key, value] : *table_) {
    if (known_.contains(key.str())) continue;
    std::string expected;
    for (const std::string& name : known_) expected += (expected.empty() ? "" : ", ") + name;
    diag_->error(&key.source(),
                 fmt::format("unknown key '{}'{}", key_path(key.str()),
                             expected.empty() ? "" : fmt::format(" (expected one of: {})", expected)));
    return;
  }
}

Result<std::string> read_text_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {  // ifstream would "read" a directory as empty
    return fail(ErrorCode::InvalidArgument, fmt::format("cannot read {}: it is a directory", path.string()));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    return fail(err == ENOENT ? ErrorCode::NotFound : ErrorCode::InvalidArgument,
                fmt::format("cannot read {}: {}", path.string(), std::strerror(err)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return fail(ErrorCode::Internal, fmt::format("cannot read {}", path.string()));
  return std::move(text).str();
}

Result<void> write_text_file(const std::filesystem::path& path, std::string_view text) {
  std::filesystem::path temp = path;
  temp += ".tmp";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) {
      return fail(ErrorCode::Internal,
                  fmt::format("cannot write {}: {}", temp.string(), std::strerror(errno)));
    }
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.flush();
    if (!out) return fail(ErrorCode::Internal, fmt::format("cannot write {}", temp.string()));
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    const std::string reason = ec.message();
    std::filesystem::remove(temp, ec);
    return fail(ErrorCode::Internal, fmt::format("cannot replace {}: {}", path.string(), reason));
  }
  return {};
}

}  // namespace actr::config::detail
