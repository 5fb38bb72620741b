#pragma once
// The executor every piece of node state lives on: one strand of the node's io_context.
// Code that touches node state runs on it; everything else posts into it.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <functional>

namespace actr::detail {

namespace asio = boost::asio;
/// The node's serial executor: a strand when the node runs several threads, the io_context's own
/// executor when it runs one (already serial, and a strand would only add a lock per post).
using Strand = asio::any_io_executor;

/// Wraps an Asio completion handler so it can be stored type-erased and invoked from anywhere:
/// the invocation is always posted to the handler's own executor, never run inline, so that
/// completing a waiter can't re-enter the code that completed it.
template <class... Args, class Handler>
std::move_only_function<void(Args...)> deferred_completion(Handler&& handler) {
  return [h = std::forward<Handler>(handler)](Args... args) mutable {
    auto ex = asio::get_associated_executor(h);
    asio::post(ex, [h = std::move(h), ... args = std::move(args)]() mutable { h(std::move(args)...); });
  };
}

}  // namespace actr::detail
