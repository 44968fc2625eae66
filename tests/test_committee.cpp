// Committee evaluation: the averaged probabilities are each member's probabilities averaged, a committee
// of one is the model itself, and a committee of copies predicts what each copy predicts.
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include "helpers/bars.h"
#include "lenet/committee.h"
#include "lenet/lenet5.h"
#include "lenet/rng.h"
#include "lenet/trainer.h"

namespace lenet {
namespace {

Lenet5 fresh(Arch arch, std::uint64_t seed) {
  Lenet5 m(arch);
  Rng rng(seed);
  m.init(rng);
  return m;
}

TEST(Committee, MeanOfMembersProbabilitiesMixedArchitectures) {
  const Dataset data = test::bar_digits(37, 5);
  const Lenet5 a = fresh(Arch::Lenet5, 1), b = fresh(Arch::Lenet5_1998, 2), c = fresh(Arch::Lenet5, 3);
  const std::vector<float> mean = committee_probabilities({&a, &b, &c}, data, 2);
  ASSERT_EQ(mean.size(), std::size_t(37) * kClasses);
  // The same image through each member alone, one at a time.
  Activations act_modern(a, 1), act_1998(b, 1);
  double worst = 0;
  for (int i = 0; i < data.count; ++i) {
    double expected[kClasses] = {};
    for (const Lenet5* m : {&a, &b, &c}) {
      Activations& act = m->arch() == Arch::Lenet5 ? act_modern : act_1998;
      image_to_input(act.input.data(), data.image(i), data.rows, data.cols);
      lenet5_forward(*m, act, 1);
      float p[kClasses];
      m->probabilities(p, act.scores.data());
      for (int k = 0; k < kClasses; ++k) expected[k] += p[k] / 3.0;
    }
    double total = 0;
    for (int k = 0; k < kClasses; ++k) {
      worst = std::max(worst, std::abs(expected[k] - mean[std::size_t(i) * kClasses + k]));
      total += mean[std::size_t(i) * kClasses + k];
    }
    EXPECT_NEAR(total, 1.0, 1e-5);
  }
  EXPECT_LT(worst, 1e-5);
}

TEST(Committee, OfOneIsTheModelAndOfCopiesAgrees) {
  const Dataset data = test::bar_digits(50, 6);
  const Lenet5 a = fresh(Arch::Lenet5_1998, 4);
  const EvalResult alone = evaluate(a, data, 1);
  const EvalResult one = evaluate_committee({&a}, data, 1);
  const EvalResult copies = evaluate_committee({&a, &a, &a}, data, 2);
  EXPECT_EQ(one.predictions, alone.predictions);
  EXPECT_EQ(copies.predictions, alone.predictions);
  EXPECT_EQ(copies.accuracy, alone.accuracy);
  EXPECT_EQ(copies.confusion, alone.confusion);
  EXPECT_GT(copies.loss, 0.0);
}

TEST(Committee, RefusesNoMembers) {
  const Dataset data = test::bar_digits(5, 7);
  EXPECT_THROW(committee_probabilities({}, data), std::invalid_argument);
}

}  // namespace
}  // namespace lenet
