// Candidate cuts through a group of touching digits for read's segmentation: straight cuts at the minima of
// the ink's vertical projection, and cut paths that bend and lean through the ink from the valleys of its
// upper and lower contours (cheapest paths across the ink); and a digit's ink between two such cuts.
#pragma once
#include <vector>

#include "lenet/ink.h"
#include "lenet/normalise.h"

namespace lenet {

// A cut from the top to the bottom of a group's box: in row y it passes at column x[y - top]; the ink in
// columns left of it belongs to the piece on its left. A straight cut has the same column in every row.
struct CutPath {
  int top = 0;
  std::vector<int> x;
  int at(int y) const { return x[std::size_t(y - top)]; }
  double mean() const;  // its mean column
};

CutPath straight_cut(int x, const Box& box);

// The candidate cuts of a group of components (`members`, whose ink boxes span `box`), left to right by
// mean column: straight cuts at the lowest minima of the smoothed vertical projection, then paths from the
// valleys of the ink's upper contour down, from those of its lower contour up, and from the projection's
// minima both ways, each the path crossing the least ink (moving at most one column per row, within a band
// around where it starts) and kept when it differs from the cuts already found. `height` is the writing's
// height in pixels. `work` is increased by the pixels visited.
std::vector<CutPath> candidate_cuts(const InkMap& m, const Components& c, const std::vector<int>& members,
                                    const Box& box, double height, long long& work);

// The members' ink between two cuts of their group (`box` spans their ink boxes), normalised as MNIST's
// (normalise_digit). `crop` receives the box of that ink, in ink-map pixels (w = 0: there was none). With
// straight cuts it is normalise_ink over their columns.
MnistImage normalise_between(const InkMap& m, const Components& c, const std::vector<int>& members,
                             const Box& box, const CutPath& left, const CutPath& right, Box* crop);

}  // namespace lenet
