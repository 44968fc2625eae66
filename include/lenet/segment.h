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

// What is written between digits, as written: a dash, a decimal point or comma, a space between groups.
struct ReadSeparator {
  char symbol = ' ';  // '-', '.', ',' or ' '
  Box box;            // in the source picture's pixels (for a space: the gap between its neighbours)
  int before = 0;     // it stands before digits[before]
};

struct Reading {
  // One character per digit ('?' for a digit below ReadOptions::reject_below), with the separators as
  // written unless ReadOptions::separators is false.
  std::string text;
  std::vector<ReadDigit> digits;
  std::vector<ReadSeparator> separators;  // left to right; empty when ReadOptions::separators is false
};

struct ReadOptions {
  float reject_below = 0;  // confidence under which a digit is written '?'
  bool separators = true;  // write '-', '.', ',' and spaces between groups in `text`
};

// Throws ImageError naming the picture when it holds no ink.
LENET_API Reading read_number(DigitClassifier& classifier, const GreyImage& image,
                              const ReadOptions& options = {});

// The pieces of the segmentation, exposed for tests: groups of components that belong to one column of
// writing (pieces overlapping horizontally are merged), left to right.
std::vector<std::vector<int>> group_components(const Components& c, const std::vector<int>& significant);

}  // namespace lenet
