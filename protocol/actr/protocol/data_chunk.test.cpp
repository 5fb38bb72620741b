#include "actr/protocol/data_chunk.hpp"

#include <gtest/gtest.h>

namespace actr {
namespace {

TEST(DataChunk, HeadAndPayloadParseAsTheWholeChunk) {
  // Lengths whose varint takes one, two and three bytes, and their edges.
  for (std::size_t size : {0u, 1u, 127u, 128u, 16'383u, 16'384u, 70'001u}) {
    DataChunk chunk;
    chunk.set_stream_id("video-1");
    chunk.set_sequence(42 + size);
    std::string bytes(size, '\0');
    for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>(i * 31 + 7);
    chunk.set_payload(bytes);
    auto* entry = chunk.add_metadata();
    entry->set_key("codec");
    entry->set_value("h264");
    chunk.set_timestamp_ms(1'700'000'000'123);
    const DataChunk original = chunk;

    std::string payload;
    const std::string head = split_data_chunk(chunk, payload);
    EXPECT_EQ(payload, bytes) << size;
    EXPECT_LT(head.size(), 64u) << "the head carries no payload bytes";

    DataChunk parsed;
    ASSERT_TRUE(parsed.ParseFromString(head + payload)) << size;
    EXPECT_TRUE(parsed.IsInitialized());
    EXPECT_EQ(parsed.SerializeAsString(), original.SerializeAsString()) << size;
  }
}

}  // namespace
}  // namespace actr
