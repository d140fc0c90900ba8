#include "util/error_details.h"

#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace cohortlink::util {
namespace {

constexpr char kTypePrefix[] = "type.googleapis.com/";

template <typename Message>
std::string TypeUrl() {
  return absl::StrCat(kTypePrefix, Message::descriptor()->full_name());
}

// Reads the payload of type `Message` from `s` (empty when absent), lets
// `edit` change it and stores it back.
template <typename Message, typename Edit>
absl::Status EditPayload(absl::Status s, Edit edit) {
  if (s.ok()) return s;
  Message m;
  if (auto p = s.GetPayload(TypeUrl<Message>()); p.has_value()) {
    m.ParseFromString(std::string(*p));
  }
  edit(&m);
  s.SetPayload(TypeUrl<Message>(), absl::Cord(m.SerializeAsString()));
  return s;
}

}  // namespace

absl::Status WithFieldViolation(absl::Status s, absl::string_view field,
                                absl::string_view description) {
  return EditPayload<google::rpc::BadRequest>(
      std::move(s), [&](google::rpc::BadRequest* m) {
        auto* v = m->add_field_violations();
        v->set_field(std::string(field));
        v->set_description(std::string(description));
      });
}

absl::Status WithPreconditionViolation(absl::Status s, absl::string_view type,
                                       absl::string_view subject,
                                       absl::string_view description) {
  return EditPayload<google::rpc::PreconditionFailure>(
      std::move(s), [&](google::rpc::PreconditionFailure* m) {
        auto* v = m->add_violations();
        v->set_type(std::string(type));
        v->set_subject(std::string(subject));
        v->set_description(std::string(description));
      });
}

absl::Status WithQuotaViolation(absl::Status s, absl::string_view subject,
                                absl::string_view description) {
  return EditPayload<google::rpc::QuotaFailure>(
      std::move(s), [&](google::rpc::QuotaFailure* m) {
        auto* v = m->add_violations();
        v->set_subject(std::string(subject));
        v->set_description(std::string(description));
      });
}

std::string ToRpcStatusBytes(const absl::Status& s) {
  google::rpc::Status out;
  out.set_code(static_cast<int>(s.code()));
  out.set_message(std::string(s.message()));
  s.ForEachPayload([&](absl::string_view url, const absl::Cord& value) {
    auto* any = out.add_details();
    any->set_type_url(std::string(url));
    any->set_value(std::string(value));
  });
  return out.SerializeAsString();
}

std::vector<std::string> DescribeRpcStatusBytes(absl::string_view bytes) {
  std::vector<std::string> lines;
  google::rpc::Status st;
  if (!st.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return lines;
  for (const auto& any : st.details()) {
    if (google::rpc::BadRequest br; any.UnpackTo(&br)) {
      for (const auto& v : br.field_violations())
        lines.push_back(absl::StrCat(v.field(), ": ", v.description()));
    } else if (google::rpc::PreconditionFailure pf; any.UnpackTo(&pf)) {
      for (const auto& v : pf.violations())
        lines.push_back(
            absl::StrCat(v.type(), " (", v.subject(), "): ", v.description()));
    } else if (google::rpc::QuotaFailure qf; any.UnpackTo(&qf)) {
      for (const auto& v : qf.violations())
        lines.push_back(absl::StrCat(v.subject(), ": ", v.description()));
    }
  }
  return lines;
}

}  // namespace cohortlink::util
