// The whole core API.
#pragma once

#include "sanstls/bytes.h"
#include "sanstls/config.h"
#include "sanstls/connection.h"
#include "sanstls/error.h"
#include "sanstls/result.h"
#include "sanstls/sources.h"
