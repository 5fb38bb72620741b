#include "actr/protocol/data_chunk.hpp"

namespace actr {

std::string split_data_chunk(DataChunk& chunk, std::string& payload) {
  payload = std::move(*chunk.mutable_payload());
  chunk.clear_payload();
  std::string head;
  chunk.SerializePartialToString(&head);
  // Field `payload`, wire type 2 (length-delimited), then the length as a varint.
  head.push_back(static_cast<char>((DataChunk::kPayloadFieldNumber << 3) | 2));
  for (std::size_t length = payload.size();; length >>= 7) {
    if (length < 0x80) {
      head.push_back(static_cast<char>(length));
      break;
    }
    head.push_back(static_cast<char>((length & 0x7f) | 0x80));
  }
  return head;
}

}  // namespace actr
