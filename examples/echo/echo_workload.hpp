#pragma once
// The echo actor: the smallest useful workload. Shared by the in-process host, the remote
// server and the benchmarks.

#include <algorithm>
#include <cctype>

#include "echo/v1/echo.actr.hpp"

namespace echo {

class EchoWorkload : public v1::EchoServiceHandler {
 public:
  boost::asio::awaitable<actr::Result<v1::EchoResponse>> echo(const v1::EchoRequest& request,
                                                              actr::Context&) override {
    v1::EchoResponse response;
    response.set_text(request.text());
    response.set_served(++served_);
    co_return response;
  }

  boost::asio::awaitable<actr::Result<v1::EchoResponse>> shout(const v1::ShoutRequest& request,
                                                               actr::Context&) override {
    v1::EchoResponse response;
    std::string text = request.text();
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::toupper(c); });
    response.set_text(std::move(text));
    response.set_served(++served_);
    co_return response;
  }

 private:
  std::uint64_t served_ = 0;  // only touched on the workload's strand
};

}  // namespace echo
