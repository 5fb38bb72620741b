#include "mailbox.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

namespace actr::detail {
namespace {

EnvelopePtr make(std::string id, PayloadType lane = RPC_RELIABLE, Direction direction = DIRECTION_TELL) {
  auto envelope = std::make_unique<Envelope>();
  envelope->request_id = std::move(id);
  envelope->lane = lane;
  envelope->direction = direction;
  return envelope;
}

struct MailboxTest : ::testing::Test {
  asio::io_context io;
  Strand strand = asio::make_strand(io);  // a real strand: the type the node uses with several threads
  std::vector<std::string> admitted;
  bool admit = true;
  Mailbox mailbox{strand, 2, [this](Envelope& e) {
                    admitted.push_back(e.request_id);
                    return admit;
                  }};

  std::vector<std::string> drain(std::size_t n) {
    std::vector<std::string> order;
    asio::co_spawn(
        strand,
        [&]() -> asio::awaitable<void> {
          while (order.size() < n && !mailbox.closed()) {
            if (auto e = mailbox.try_pop()) {
              order.push_back(e->request_id);
            } else {
              co_await mailbox.wait_readable();
            }
          }
        },
        asio::detached);
    io.run_for(std::chrono::milliseconds(50));
    io.restart();
    return order;
  }
};

TEST_F(MailboxTest, SignalLaneGoesFirst) {
  EXPECT_EQ(mailbox.push(make("n1")), Mailbox::Admission::Queued);
  EXPECT_EQ(mailbox.push(make("n2")), Mailbox::Admission::Queued);
  EXPECT_EQ(mailbox.push(make("s1", RPC_SIGNAL)), Mailbox::Admission::Queued);
  EXPECT_EQ(drain(3), (std::vector<std::string>{"s1", "n1", "n2"}));
}

TEST_F(MailboxTest, FullLaneHoldsSendersInOrderThenRefuses) {
  mailbox.push(make("1"));
  mailbox.push(make("2"));
  EXPECT_EQ(mailbox.push(make("3")), Mailbox::Admission::Held);
  for (std::size_t i = 0; i < 2 * Mailbox::kOverflowFactor - 1; ++i) {
    EXPECT_EQ(mailbox.push(make("h" + std::to_string(i))), Mailbox::Admission::Held);
  }
  EXPECT_EQ(mailbox.push(make("too-many")), Mailbox::Admission::Full);
  EXPECT_EQ(mailbox.held(), 2 * Mailbox::kOverflowFactor);
  auto order = drain(3);
  EXPECT_EQ(order, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(admitted.front(), "3");  // admitted as room freed, in order
}

TEST_F(MailboxTest, AdmitHookMayDropAHeldEnvelope) {
  mailbox.push(make("1"));
  mailbox.push(make("2"));
  mailbox.push(make("gave-up"));
  admit = false;
  EXPECT_EQ(drain(2), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(mailbox.queued(), 0u);
  EXPECT_EQ(mailbox.held(), 0u);
}

TEST_F(MailboxTest, CloseWakesTheReaderAndReturnsWhatWasLeft) {
  mailbox.push(make("1"));
  auto left = mailbox.close();
  EXPECT_EQ(left.size(), 1u);
  EXPECT_EQ(mailbox.push(make("2")), Mailbox::Admission::Closed);
  EXPECT_TRUE(drain(1).empty());
}

}  // namespace
}  // namespace actr::detail
