// read's candidate cuts (lenet/cut_paths.h): a bending path separates touching, leaning strokes that no
// straight cut can, and the ink between two cuts is the ink of one piece.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "lenet/cut_paths.h"

namespace lenet {
namespace {

// Two strokes leaning forward by 0.4 (dx/dy), 8 px thick and 80 px high, whose columns overlap (the left
// one spans x 20-60, the right one 50-90), joined by a bridge 4 px thick at mid-height: one piece of ink,
// two "digits". `owner` says which stroke each pixel belongs to (1 left, 2 right, 3 the bridge).
struct LeaningPair {
  InkMap m;
  std::vector<int> owner;
};

LeaningPair leaning_pair() {
  LeaningPair p;
  p.m.width = 120, p.m.height = 100;
  p.m.ink.assign(std::size_t(p.m.width) * p.m.height, 0.0f);
  p.owner.assign(p.m.ink.size(), 0);
  p.m.threshold = 0.5f;
  auto set = [&](int x, int y, int who) {
    const std::size_t i = std::size_t(y) * p.m.width + x;
    p.m.ink[i] = 1.0f;
    if (!p.owner[i]) p.owner[i] = who;
  };
  for (int y = 10; y < 90; ++y) {
    const int shift = int(0.4 * (89 - y));
    for (int x = 0; x < 8; ++x) set(20 + shift + x, y, 1), set(50 + shift + x, y, 2);
  }
  for (int y = 50; y < 54; ++y)
    for (int x = 20 + int(0.4 * 39) + 8; x < 50 + int(0.4 * 39); ++x) set(x, y, 3);
  return p;
}

// Pixels of the two strokes on the wrong side of a cut: of the left stroke on its right, of the right
// stroke on its left (the bridge belongs to either).
int misplaced(const LeaningPair& p, const CutPath& cut) {
  int wrong = 0;
  for (int y = cut.top; y < cut.top + int(cut.x.size()); ++y)
    for (int x = 0; x < p.m.width; ++x) {
      const int who = p.owner[std::size_t(y) * p.m.width + x];
      wrong += (who == 1 && x >= cut.at(y)) || (who == 2 && x < cut.at(y));
    }
  return wrong;
}

TEST(CutPaths, ABendingPathSeparatesLeaningStrokesThatNoStraightCutCan) {
  const LeaningPair p = leaning_pair();
  const Components c = find_components(p.m);
  const std::vector<int> sig = significant_components(c, p.m);
  ASSERT_EQ(sig.size(), 1u);  // the bridge makes one piece of the two strokes
  const Box box = c.list[std::size_t(sig[0])].ink_box;
  long long work = 0;
  const std::vector<CutPath> cuts = candidate_cuts(p.m, c, sig, box, 80.0, work);
  EXPECT_GT(work, 0);
  ASSERT_FALSE(cuts.empty());
  // The best straight cut puts a long piece of a stroke on the wrong side (their columns overlap); a
  // bending path crosses the joint, where the strokes meet, and leaves at most a few pixels of it there.
  int straight = p.m.width * p.m.height;
  for (int x = box.x; x <= box.right(); ++x)
    straight = std::min(straight, misplaced(p, straight_cut(x, box)));
  EXPECT_GE(straight, 60);
  const auto good = std::min_element(cuts.begin(), cuts.end(), [&](const CutPath& a, const CutPath& b) {
    return misplaced(p, a) < misplaced(p, b);
  });
  ASSERT_NE(good, cuts.end());
  EXPECT_LE(misplaced(p, *good), 4) << "the best of " << cuts.size() << " cuts";
  // Each path spans the box's rows, moves at most one column per row; the cuts come left to right.
  for (std::size_t k = 0; k < cuts.size(); ++k) {
    ASSERT_EQ(cuts[k].top, box.y);
    ASSERT_EQ(int(cuts[k].x.size()), box.h);
    for (std::size_t y = 1; y < cuts[k].x.size(); ++y)
      EXPECT_LE(std::abs(cuts[k].x[y] - cuts[k].x[y - 1]), 1);
    if (k) {
      EXPECT_LE(cuts[k - 1].mean(), cuts[k].mean());
    }
  }
  // The ink between the group's left edge and that path is the left stroke (and part of the bridge): its
  // box is the left stroke's (x from 20, rows 10-89), with at most the bridge's pixels left of the cut.
  Box left;
  normalise_between(p.m, c, sig, box, straight_cut(box.x, box), *good, &left);
  EXPECT_EQ(left.x, 20);
  EXPECT_EQ(left.y, 10);
  EXPECT_EQ(left.h, 80);
  EXPECT_LE(left.right(), 66);
  Box right;
  normalise_between(p.m, c, sig, box, *good, straight_cut(box.right(), box), &right);
  EXPECT_GE(right.x, 42);  // at most the left stroke's last column at the joint
  EXPECT_EQ(right.right(), 89);
}

// Between straight cuts, normalise_between is normalise_ink over their columns, pixel for pixel.
TEST(CutPaths, BetweenStraightCutsIsTheColumnsInk) {
  const LeaningPair p = leaning_pair();
  const Components c = find_components(p.m);
  const std::vector<int> sig = significant_components(c, p.m);
  const Box box = c.list[std::size_t(sig[0])].ink_box;
  for (int x0 : {box.x, 35, 55})
    for (int x1 : {60, 75, box.right()}) {
      Box a, b;
      const MnistImage cut =
          normalise_between(p.m, c, sig, box, straight_cut(x0, box), straight_cut(x1, box), &a);
      const MnistImage cols = normalise_ink(p.m, c, sig, x0, x1, &b);
      EXPECT_EQ(cut, cols) << x0 << ".." << x1;
      EXPECT_EQ(a.x, b.x);
      EXPECT_EQ(a.w, b.w);
      EXPECT_EQ(a.y, b.y);
      EXPECT_EQ(a.h, b.h);
    }
}

}  // namespace
}  // namespace lenet
