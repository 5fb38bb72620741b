#include "actr/protocol/ids.hpp"

#include <fmt/format.h>
#include <charconv>

namespace actr {
namespace {

constexpr std::size_t kMaxNameLength = 32;

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::size_t hash_combine(std::size_t seed, std::size_t value) {
  return seed ^ (value + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2));
}

}  // namespace

Result<void> validate_name(std::string_view name, std::string_view what) {
  if (name.empty()) return fail(ErrorCode::InvalidArgument, fmt::format("{} is empty", what));
  if (name.size() > kMaxNameLength) {
    return fail(ErrorCode::InvalidArgument, fmt::format("{} '{}' is {} characters long (at most {})", what,
                                                        name, name.size(), kMaxNameLength));
  }
  if (!is_letter(name.front())) {
    return fail(ErrorCode::InvalidArgument, fmt::format("{} '{}' must start with a letter", what, name));
  }
  if (!is_letter(name.back()) && !is_digit(name.back())) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("{} '{}' must end with a letter or digit", what, name));
  }
  for (char c : name) {
    if (!is_letter(c) && !is_digit(c) && c != '-' && c != '_' && c != '.') {
      return fail(
          ErrorCode::InvalidArgument,
          fmt::format("{} '{}' contains '{}' (allowed: letters, digits, '-', '_', '.')", what, name, c));
    }
  }
  return {};
}

Result<void> validate_version(std::string_view version) {
  // Versions follow the name rules except that they may start with a digit ("1.0.2").
  if (!version.empty() && is_digit(version.front())) {
    std::string as_name = "v" + std::string(version);
    if (auto ok = validate_name(as_name, "version"); !ok) {
      return fail(ErrorCode::InvalidArgument,
                  fmt::format("version '{}' is invalid (letters, digits, '-', '_', '.'; at most {})", version,
                              kMaxNameLength));
    }
    if (version.size() > kMaxNameLength) {
      return fail(ErrorCode::InvalidArgument,
                  fmt::format("version '{}' is longer than {} characters", version, kMaxNameLength));
    }
    return {};
  }
  return validate_name(version, "version");
}

ActrType make_actr_type(std::string manufacturer, std::string name, std::string version) {
  ActrType type;
  type.set_manufacturer(std::move(manufacturer));
  type.set_name(std::move(name));
  type.set_version(std::move(version));
  return type;
}

ActrId make_actr_id(std::uint32_t realm_id, std::uint64_t serial_number, ActrType type) {
  ActrId id;
  id.mutable_realm()->set_realm_id(realm_id);
  id.set_serial_number(serial_number);
  *id.mutable_type() = std::move(type);
  return id;
}

Result<void> validate(const ActrType& type) {
  if (auto ok = validate_name(type.manufacturer(), "manufacturer"); !ok) return ok;
  if (auto ok = validate_name(type.name(), "name"); !ok) return ok;
  return validate_version(type.version());
}

std::string to_string(const ActrType& type) {
  return fmt::format("{}:{}:{}", type.manufacturer(), type.name(), type.version());
}

std::string to_string(const ActrId& id) {
  return fmt::format("{:x}@{}/{}", id.serial_number(), id.realm().realm_id(), to_string(id.type()));
}

Result<ActrType> parse_actr_type(std::string_view text) {
  auto first = text.find(':');
  auto second = first == std::string_view::npos ? first : text.find(':', first + 1);
  if (second == std::string_view::npos || text.find(':', second + 1) != std::string_view::npos) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("ActrType '{}' must be 'manufacturer:name:version'", text));
  }
  ActrType type = make_actr_type(std::string(text.substr(0, first)),
                                 std::string(text.substr(first + 1, second - first - 1)),
                                 std::string(text.substr(second + 1)));
  if (auto ok = validate(type); !ok) {
    return fail(ErrorCode::InvalidArgument, fmt::format("ActrType '{}': {}", text, ok.error().message));
  }
  return type;
}

Result<ActrId> parse_actr_id(std::string_view text) {
  auto at = text.find('@');
  auto slash = at == std::string_view::npos ? at : text.find('/', at);
  if (at == std::string_view::npos || slash == std::string_view::npos) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("ActrId '{}' must be '<serial hex>@<realm>/<manufacturer:name:version>'", text));
  }
  auto serial_text = text.substr(0, at);
  auto realm_text = text.substr(at + 1, slash - at - 1);
  std::uint64_t serial = 0;
  std::uint32_t realm = 0;
  auto parse_whole = [](std::string_view s, auto& value, int base) {
    if (s.empty()) return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
    return ec == std::errc{} && end == s.data() + s.size();
  };
  bool serial_lower = serial_text.find_first_of("ABCDEF") == std::string_view::npos;
  if (!serial_lower || !parse_whole(serial_text, serial, 16)) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("ActrId '{}': serial '{}' is not lowercase hex", text, serial_text));
  }
  if (!parse_whole(realm_text, realm, 10)) {
    return fail(ErrorCode::InvalidArgument,
                fmt::format("ActrId '{}': realm '{}' is not a decimal number", text, realm_text));
  }
  auto type = parse_actr_type(text.substr(slash + 1));
  if (!type) {
    return fail(ErrorCode::InvalidArgument, fmt::format("ActrId '{}': {}", text, type.error().message));
  }
  return make_actr_id(realm, serial, std::move(*type));
}

bool operator==(const ActrType& a, const ActrType& b) {
  return a.manufacturer() == b.manufacturer() && a.name() == b.name() && a.version() == b.version();
}

bool operator==(const ActrId& a, const ActrId& b) {
  return a.serial_number() == b.serial_number() && a.realm().realm_id() == b.realm().realm_id() &&
         a.type() == b.type();
}

}  // namespace actr

std::size_t std::hash<actr::ActrType>::operator()(const actr::ActrType& type) const noexcept {
  std::hash<std::string_view> h;
  return actr::hash_combine(actr::hash_combine(h(type.manufacturer()), h(type.name())), h(type.version()));
}

// Realm and serial number name an actor within signaling, so they alone spread ids well; hashing
// the type's three strings too would cost every lookup (peer maps are on the call path).
std::size_t std::hash<actr::ActrId>::operator()(const actr::ActrId& id) const noexcept {
  return actr::hash_combine(std::hash<std::uint64_t>{}(id.serial_number()), id.realm().realm_id());
}
