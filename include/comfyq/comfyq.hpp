#pragma once
// The front door of the comfyq core: the job model, the scheduler and its views.
// Output attribution (comfyq/attribution.hpp, comfyq/workflow.hpp, comfyq/manifest.hpp) and the
// simulator (comfyq/sim/simulate.hpp) are opt-in headers; none of them needs a network library.

#include "comfyq/errors.hpp"
#include "comfyq/events.hpp"
#include "comfyq/ids.hpp"
#include "comfyq/job_query.hpp"
#include "comfyq/model.hpp"
#include "comfyq/scheduler.hpp"
#include "comfyq/scheduler_config.hpp"
#include "comfyq/snapshot.hpp"
#include "comfyq/submission.hpp"
#include "comfyq/version.hpp"
#include "comfyq/worker_info.hpp"
