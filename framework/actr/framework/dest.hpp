#pragma once
// Where a call, tell or data chunk goes: the host application (shell), this actor itself (local),
// or another actor by id (through the peer gate).

#include <memory>

#include "actr/protocol/ids.hpp"

namespace actr {

class Dest {
 public:
  enum class Kind : std::uint8_t { Shell, Local, Actor };

  static Dest shell() { return Dest(Kind::Shell, nullptr); }
  static Dest local() { return Dest(Kind::Local, nullptr); }
  static Dest actor(ActrId id) { return Dest(Kind::Actor, std::make_shared<const ActrId>(std::move(id))); }

  Kind kind() const { return kind_; }
  bool is_shell() const { return kind_ == Kind::Shell; }
  bool is_local() const { return kind_ == Kind::Local; }
  bool is_actor() const { return kind_ == Kind::Actor; }
  /// Only for Kind::Actor.
  const ActrId& actor_id() const { return *id_; }

  /// "shell", "local" or the actor's text form.
  std::string to_string() const;

 private:
  Dest(Kind kind, std::shared_ptr<const ActrId> id) : kind_(kind), id_(std::move(id)) {}
  Kind kind_;
  std::shared_ptr<const ActrId> id_;
};

}  // namespace actr
