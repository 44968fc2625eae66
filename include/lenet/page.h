// The page in a picture of writing: the paper's level under the ink, the sheet apart from the table
// around it, and the lines of ruled and squared paper (docs/reading-pictures.md says why each).
#pragma once
#include <vector>

namespace lenet {

// The largest of the values and 0.
float largest(const std::vector<float>& values);

// Otsu's threshold on values in [0, top]: the cut that maximises the between-class variance.
float otsu_threshold(const std::vector<float>& values, float top);

// The paper's grey level under the ink of a w × h picture (row-major grey levels): a grey-level closing
// (dark ink) or opening (light ink) with a window wider than any stroke, on the picture reduced to at
// most 256 px a side, interpolated back. It follows the lighting, hard shadows and a darker table, and
// does not assume that the ink is a minority of the pixels.
std::vector<float> paper_background(const std::vector<float>& grey, int w, int h, bool dark_ink);

// In a photo that shows the table around the sheet: 1 on the sheet (less a rim inside its outline), 0
// elsewhere; empty when the picture shows no such sheet.
std::vector<char> sheet_mask(const std::vector<float>& grey, int w, int h, bool dark_ink);

// Removes the lines of ruled and squared paper from an ink map (0..1, above `threshold` = ink), keeping
// the strokes that cross them; returns the number of pixels removed.
int remove_rules(std::vector<float>& ink, int w, int h, float threshold);

}  // namespace lenet
