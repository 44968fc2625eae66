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

// The work one reading may do, so that no picture within the decoders' limits holds a processor for long
// (issue 12: a picture of stripes, dots or noise within the limits made thousands of candidate digits and
// cost seconds). Each bound is checked before the work it bounds; tests/test_server_budget.cpp checks that
// no picture within the server's limits then costs more than 0.5 s of CPU through /api/read. Real numbers
// stay far inside: a 40-digit row of broken strokes has a few hundred pieces and candidates.
struct ReadBudget {
  int max_pieces = kMaxInkPieces;     // pieces of ink that could be writing (significant components)
  int max_candidates = 3000;          // candidate digits classified: whole groups and pieces between cuts
  long long max_pixels = 24'000'000;  // working pixels visited to cut and normalise all the candidates
};

struct ReadOptions {
  float reject_below = 0;  // confidence under which a digit is written '?'
  bool separators = true;  // write '-', '.', ',' and spaces between groups in `text`
  ReadBudget budget = {};
};

// Throws ImageError naming the picture when it holds no ink, WorkBudgetExceeded when it is beyond the
// budget.
LENET_API Reading read_number(DigitClassifier& classifier, const GreyImage& image,
                              const ReadOptions& options = {});

// The pieces of the segmentation, exposed for tests: groups of components that belong to one column of
// writing (pieces overlapping horizontally are merged), left to right.
std::vector<std::vector<int>> group_components(const Components& c, const std::vector<int>& significant);

}  // namespace lenet
