#include "actr/framework/dest.hpp"

namespace actr {

std::string Dest::to_string() const {
  switch (kind_) {
    case Kind::Shell: return "shell";
    case Kind::Local: return "local";
    case Kind::Actor: return actr::to_string(*id_);
  }
  return "?";
}

}  // namespace actr
