#pragma once
// ActrType and ActrId: text forms, name rules, and value semantics (==, hashing) so they can key maps.
//   ActrType: "manufacturer:name:version"
//   ActrId:   "<serial hex>@<realm_id>/<manufacturer:name:version>"

#include <actr/actr.pb.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "actr/protocol/error.hpp"

namespace actr {

/// Names start with a letter, end with a letter or digit, use letters, digits, '-', '_', '.', and
/// have at most 32 characters. `what` names the field in the error ("manufacturer", ...).
Result<void> validate_name(std::string_view name, std::string_view what);

/// Versions follow the name rules but may also start with a digit ("1.0.2").
Result<void> validate_version(std::string_view version);

ActrType make_actr_type(std::string manufacturer, std::string name, std::string version);
ActrId make_actr_id(std::uint32_t realm_id, std::uint64_t serial_number, ActrType type);

/// Checks every name of the type; the error says which part is wrong and why.
Result<void> validate(const ActrType& type);

std::string to_string(const ActrType& type);
std::string to_string(const ActrId& id);
Result<ActrType> parse_actr_type(std::string_view text);
Result<ActrId> parse_actr_id(std::string_view text);

bool operator==(const ActrType& a, const ActrType& b);
bool operator==(const ActrId& a, const ActrId& b);

}  // namespace actr

template <>
struct std::hash<actr::ActrType> {
  std::size_t operator()(const actr::ActrType& type) const noexcept;
};

template <>
struct std::hash<actr::ActrId> {
  std::size_t operator()(const actr::ActrId& id) const noexcept;
};
