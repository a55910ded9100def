#pragma once
// multipart/form-data bodies (POST /upload/image), as comfyq/server/multipart.hpp reads them.

#include "comfyq/server/multipart.hpp"

namespace comfyq::testing::standin {

using comfyq::server::form_field;
using comfyq::server::parse_multipart;

}  // namespace comfyq::testing::standin
