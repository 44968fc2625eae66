// Pictures of handwriting turned into what LeNet-5 was trained on, in four steps with a header each:
// decoding (decode.h), resampling (resample.h), ink extraction (ink.h) and the MNIST normalisation
// (normalise.h). Include this header for the whole way, or the one step you need.
#pragma once
#include "lenet/decode.h"
#include "lenet/ink.h"
#include "lenet/normalise.h"
#include "lenet/resample.h"
