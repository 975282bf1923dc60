#include "fleet/broker/kafka.hpp"
#include "kafka/producer.hpp"

namespace fleet::broker::kafka {

Result<std::unique_ptr<StreamStore>> open_stream_store(const Config&, Producer&,
                                                       const std::string& stream) {
  return fail(Errc::rejected, "cannot read stream " + stream + " by sequence yet");
}

}  // namespace fleet::broker::kafka
