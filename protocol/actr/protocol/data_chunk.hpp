#pragma once
// Sending a DataChunk without copying its payload into an encoded buffer first.
//
// Why: a stream chunk is mostly payload. Encoding the whole message zero-fills a buffer of its
// size and copies every payload byte into it, two passes over data that the wire could write from
// the payload's own string. protobuf parsers accept fields in any order, so the payload field can
// come last, after the rest of the message.

#include <actr/package.pb.h>

#include <string>

namespace actr {

/// Moves the chunk's payload into `payload` and returns the rest of the chunk encoded, followed by
/// the payload field's tag and length: `head + payload` is a valid encoding of the chunk. Required
/// fields are not checked (check `chunk.IsInitialized()` first).
std::string split_data_chunk(DataChunk& chunk, std::string& payload);

}  // namespace actr
