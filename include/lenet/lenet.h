// The lenet library's public API in one include (docs/library.md): the version, the exceptions, the
// thread-safe Classifier (lenet::lenet) and pictures and numbers (lenet::vision; link it to use them).
// Headers not reached from here are internals: installed for static users, without a stability promise.
#pragma once

#include "lenet/classifier.h"
#include "lenet/errors.h"
#include "lenet/picture.h"
#include "lenet/version.h"
