// This file is part of libeventactors.
// Copyright (c) the libeventactors authors. Distributed under the MIT license.

#pragma once

#include "eventactors/action_actor.hpp"
#include "eventactors/action_kind.hpp"
#include "eventactors/actor.hpp"
#include "eventactors/app.hpp"
#include "eventactors/call.hpp"
#include "eventactors/changes.hpp"
#include "eventactors/changeset.hpp"
#include "eventactors/environment.hpp"
#include "eventactors/error.hpp"
#include "eventactors/event.hpp"
#include "eventactors/event_log.hpp"
#include "eventactors/init.hpp"
#include "eventactors/json.hpp"
#include "eventactors/json_app.hpp"
#include "eventactors/log.hpp"
#include "eventactors/options.hpp"
#include "eventactors/record.hpp"
#include "eventactors/replay.hpp"
#include "eventactors/replay_actor.hpp"
#include "eventactors/resource.hpp"
#include "eventactors/runtime.hpp"
#include "eventactors/time.hpp"
#include "eventactors/type_ids.hpp"
#include "eventactors/types.hpp"
