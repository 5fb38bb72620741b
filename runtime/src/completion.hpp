#pragma once
// Completion<Args...>: a move-only `void(Args...)` callable that keeps small callables inline.
//
// Why not std::move_only_function: libstdc++ stores only ~2 pointers inline, and the completion a
// call waits on wraps an Asio coroutine handler (its executor alone is several words), so every
// call paid a heap allocation just to remember whom to resume.

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace actr::detail {

template <class... Args>
class Completion {
 public:
  static constexpr std::size_t kInlineBytes = 112;

  Completion() = default;
  template <class F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, Completion> && std::is_invocable_v<F&, Args...>)
      Completion(F&& f) {  // NOLINT: implicit, like std::function
    using T = std::remove_cvref_t<F>;
    if constexpr (sizeof(T) <= kInlineBytes && alignof(T) <= alignof(std::max_align_t) &&
                  std::is_nothrow_move_constructible_v<T>) {
      ::new (static_cast<void*>(storage_)) T(std::forward<F>(f));
      ops_ = &inline_ops<T>;
    } else {
      *reinterpret_cast<T**>(storage_) = new T(std::forward<F>(f));
      ops_ = &heap_ops<T>;
    }
  }
  Completion(Completion&& other) noexcept : ops_(std::exchange(other.ops_, nullptr)) {
    if (ops_) ops_->move(other.storage_, storage_);
  }
  Completion& operator=(Completion&& other) noexcept {
    if (this != &other) {
      reset();
      ops_ = std::exchange(other.ops_, nullptr);
      if (ops_) ops_->move(other.storage_, storage_);
    }
    return *this;
  }
  Completion(const Completion&) = delete;
  Completion& operator=(const Completion&) = delete;
  ~Completion() { reset(); }

  explicit operator bool() const { return ops_ != nullptr; }
  void operator()(Args... args) { ops_->invoke(storage_, std::forward<Args>(args)...); }

 private:
  struct Ops {
    void (*invoke)(void*, Args&&...);
    void (*move)(void* from, void* to) noexcept;  // leaves `from` destroyed
    void (*destroy)(void*) noexcept;
  };
  template <class T>
  static constexpr Ops inline_ops{
      [](void* p, Args&&... args) { (*static_cast<T*>(p))(std::forward<Args>(args)...); },
      [](void* from, void* to) noexcept {
        ::new (to) T(std::move(*static_cast<T*>(from)));
        static_cast<T*>(from)->~T();
      },
      [](void* p) noexcept { static_cast<T*>(p)->~T(); }};
  template <class T>
  static constexpr Ops heap_ops{
      [](void* p, Args&&... args) { (**static_cast<T**>(p))(std::forward<Args>(args)...); },
      [](void* from, void* to) noexcept { *static_cast<T**>(to) = *static_cast<T**>(from); },
      [](void* p) noexcept { delete *static_cast<T**>(p); }};

  void reset() {
    if (ops_) std::exchange(ops_, nullptr)->destroy(storage_);
  }

  alignas(std::max_align_t) unsigned char storage_[kInlineBytes];
  const Ops* ops_ = nullptr;
};

}  // namespace actr::detail
