// Slant correction of a row of writing: the slant of its ink from second moments, as MNIST-style deskewing
// measures it, and the ink map sheared upright, with the way back to the original's pixels.
#pragma once
#include <vector>

#include "lenet/ink.h"

namespace lenet {

// A horizontal shear: the ink at (x, y) of the original map is at (x - slope * y + offset, y) of the
// sheared one. slope = dx/dy of the writing (y downwards: forward-leaning writing has slope < 0); offset
// keeps every column of the original inside the sheared map.
struct Shear {
  double slope = 0;
  double offset = 0;
  double shift(int y) const { return offset - slope * y; }
};

// The slant of the listed components' ink: the pooled second moments of each one about its own centre of
// mass, mu11 / mu02 (each piece's position in the row does not count, only how its ink leans). 0 when the
// pieces hold no ink. One pass over the map, whatever the number of pieces.
double ink_slant(const InkMap& m, const Components& c, const std::vector<int>& members);

// The shear that turns writing of this slant upright (slant 0) in a map of height `height`.
Shear upright_shear(double slant, int height);

// The listed components' ink (everything else left out), sheared: wider than the original by |slope| times
// its height, linearly interpolated along each row.
InkMap shear_ink(const InkMap& m, const Components& c, const std::vector<int>& members, const Shear& s);

// The smallest box of the original map that holds a box of the sheared one (clipped to the original's
// `width` columns).
Box unshear(const Box& b, const Shear& s, int width);

}  // namespace lenet
