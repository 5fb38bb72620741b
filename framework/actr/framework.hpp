#pragma once
// The user API in one include.
#include "actr/framework/context.hpp"
#include "actr/framework/data.hpp"
#include "actr/framework/dest.hpp"
#include "actr/framework/payload.hpp"
#include "actr/framework/rpc_traits.hpp"
#include "actr/framework/serves.hpp"
#include "actr/framework/workload.hpp"
#include "actr/protocol/error.hpp"
#include "actr/protocol/ids.hpp"
