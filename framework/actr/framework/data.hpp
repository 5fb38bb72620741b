#pragma once
// Streams and media: what a workload sends besides RPC.
//   DataChunk   — one piece of a named stream (the wire message itself), FIFO per stream.
//   MediaSample — one encoded media frame on an RTP track (WebRTC only).

#include <actr/package.pb.h>

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "actr/protocol/ids.hpp"

namespace actr {

/// Key/value pairs that ride beside a message (RpcEnvelope.metadata, DataChunk.metadata).
using Metadata = std::vector<std::pair<std::string, std::string>>;

/// Called once per chunk, in sequence order per stream; the next chunk of the same stream waits
/// until the previous call finished.
using StreamHandler = std::function<boost::asio::awaitable<void>(DataChunk chunk, const ActrId& sender)>;

/// Has constructors on purpose: g++ 12 miscompiles braced aggregate temporaries passed inside
/// co_await expressions, and samples are typically built right in a send call.
struct MediaSample {
  MediaSample() = default;
  MediaSample(std::string track_id_, std::string data_, std::uint32_t rtp_timestamp_ = 0,
              std::string codec_ = {})
      : track_id(std::move(track_id_)),
        data(std::move(data_)),
        rtp_timestamp(rtp_timestamp_),
        codec(std::move(codec_)) {}

  std::string track_id;
  std::string data;  // one encoded frame
  std::uint32_t rtp_timestamp = 0;
  std::string codec;  // e.g. "VP8", "OPUS"
};

using MediaTrackHandler =
    std::function<boost::asio::awaitable<void>(MediaSample sample, const ActrId& sender)>;

}  // namespace actr
