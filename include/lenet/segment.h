// Reading a number written as one row of digits (a postcode, a year, a meter reading): the picture is cut
// into digits — connected ink, broken strokes merged, touching digits split by the paper's heuristic
// over-segmentation, where the network itself chooses among the candidate cuts — and each digit is read.
#pragma once
#include <string>
#include <vector>

#include "lenet/classify.h"
#include "lenet/image.h"

namespace lenet {

struct ReadDigit {
  DigitGuess guess;
  Box box;           // in the source picture's pixels
  MnistImage input;  // what the network saw
};

struct Reading {
  std::string text;  // one character per digit; '?' for a digit below ReadOptions::reject_below
  std::vector<ReadDigit> digits;
};

struct ReadOptions {
  float reject_below = 0;  // confidence under which a digit is written '?'
};

// Throws ImageError naming the picture when it holds no ink.
Reading read_number(DigitClassifier& classifier, const GreyImage& image, const ReadOptions& options = {});

// The pieces of the segmentation, exposed for tests: groups of components that belong to one column of
// writing (pieces overlapping horizontally are merged), left to right.
std::vector<std::vector<int>> group_components(const Components& c, const std::vector<int>& significant);

}  // namespace lenet
