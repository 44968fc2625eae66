// Report and visualisation pictures, drawn on a Canvas: confusion matrix, gallery of errors, training
// curves, feature maps and kernels; and the per-class precision/recall table.
#include "lenet/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

namespace lenet {

namespace {

constexpr Color kGridGrey{200, 200, 200};
constexpr Color kTextGrey{90, 90, 90};
constexpr Color kTrainColor{33, 102, 172};
constexpr Color kTestColor{214, 96, 77};

std::string format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// Round tick values covering [lo, hi], about `want` of them.
std::vector<double> nice_ticks(double lo, double hi, int want) {
  if (hi <= lo) hi = lo + 1;
  const double raw = (hi - lo) / want, mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + 1e-9 * step; t += step)
    ticks.push_back(std::abs(t) < 1e-9 * step ? 0.0 : t);  // never a tick labelled -0.00
  return ticks;
}

}  // namespace

ClassMetrics class_metrics(const Confusion& confusion) {
  ClassMetrics m;
  for (int c = 0; c < kClasses; ++c) {
    long long tp = confusion[c][c], predicted = 0, actual = 0;
    for (int k = 0; k < kClasses; ++k) {
      predicted += confusion[k][c];
      actual += confusion[c][k];
    }
    m.precision[c] = predicted ? double(tp) / predicted : 0.0;
    m.recall[c] = actual ? double(tp) / actual : 0.0;
    m.support[c] = actual;
  }
  return m;
}

std::string class_metrics_csv(const ClassMetrics& m) {
  std::string out = "class,precision,recall,support\n";
  for (int c = 0; c < kClasses; ++c) {
    char line[96];
    std::snprintf(line, sizeof line, "%d,%.4f,%.4f,%lld\n", c, m.precision[c], m.recall[c], m.support[c]);
    out += line;
  }
  return out;
}

Canvas confusion_picture(const Confusion& confusion) {
  constexpr int kCell = 46, kLeft = 60, kTop = 70;
  Canvas canvas(kLeft + kClasses * kCell + 20, kTop + kClasses * kCell + 40);
  canvas.text(kLeft, 10, "CONFUSION MATRIX (ROWS: TRUE, COLUMNS: PREDICTED)", kBlack);
  canvas.text(kLeft + (kClasses * kCell - text_width("PREDICTED")) / 2, 30, "PREDICTED", kTextGrey);
  canvas.text(8, kTop + kClasses * kCell / 2 - 4, "TRUE", kTextGrey);
  for (int t = 0; t < kClasses; ++t) {
    long long row = 0;
    for (int p = 0; p < kClasses; ++p) row += confusion[t][p];
    canvas.text(kLeft - 14, kTop + t * kCell + kCell / 2 - 4, std::to_string(t), kBlack);
    canvas.text(kLeft + t * kCell + kCell / 2 - 2, kTop - 14, std::to_string(t), kBlack);
    for (int p = 0; p < kClasses; ++p) {
      const long long n = confusion[t][p];
      const double frac = row ? double(n) / row : 0.0;
      // Errors are a few percent at most: a square-root scale makes single errors visible.
      Color fill = kWhite;
      if (t == p)
        fill = sequential_color(0.25 + 0.75 * frac);
      else if (n > 0)
        fill = diverging_color(0.55 + 0.45 * std::min(1.0, std::sqrt(frac * 10)));
      const int x = kLeft + p * kCell, y = kTop + t * kCell;
      canvas.fill(x, y, kCell, kCell, fill);
      canvas.frame(x, y, kCell + 1, kCell + 1, kGridGrey);
      if (n > 0) {
        const std::string label = std::to_string(n);
        const bool dark = t == p && frac > 0.5;
        canvas.text(x + (kCell - text_width(label)) / 2, y + kCell / 2 - 3, label, dark ? kWhite : kBlack);
      }
    }
  }
  long long total = 0, right = 0;
  for (int t = 0; t < kClasses; ++t)
    for (int p = 0; p < kClasses; ++p) total += confusion[t][p], right += t == p ? confusion[t][p] : 0;
  canvas.text(
      kLeft, kTop + kClasses * kCell + 16,
      "ACCURACY " + format("%.2f%%", total ? 100.0 * right / total : 0.0) + " OF " + std::to_string(total),
      kBlack);
  return canvas;
}

Canvas misclassified_picture(const Dataset& data, const std::vector<std::uint8_t>& predictions,
                             int max_items) {
  std::vector<int> wrong;
  for (int i = 0; i < data.count && i < int(predictions.size()); ++i)
    if (predictions[std::size_t(i)] != data.labels[std::size_t(i)]) wrong.push_back(i);
  const int shown = std::min(int(wrong.size()), max_items);
  constexpr int kScale = 2, kPerRow = 20, kTop = 30;
  const int cell_w = data.cols * kScale + 8, cell_h = data.rows * kScale + kCellHeight + 8;
  const int rows = std::max(1, (shown + kPerRow - 1) / kPerRow);
  Canvas canvas(std::max(kPerRow * cell_w + 16, 400), kTop + rows * cell_h + 8);
  std::string title = "MISCLASSIFIED: " + std::to_string(wrong.size()) + " OF " + std::to_string(data.count) +
                      " (TRUE>PREDICTED)";
  if (shown < int(wrong.size())) title += ", FIRST " + std::to_string(shown) + " SHOWN";
  canvas.text(8, 10, title, kBlack);
  for (int k = 0; k < shown; ++k) {
    const int i = wrong[std::size_t(k)];
    const int x = 8 + (k % kPerRow) * cell_w, y = kTop + (k / kPerRow) * cell_h;
    canvas.grey(x, y, data.image(i), data.cols, data.rows, kScale, true);
    canvas.frame(x - 1, y - 1, data.cols * kScale + 2, data.rows * kScale + 2, kGridGrey);
    const std::string label =
        std::to_string(data.labels[std::size_t(i)]) + ">" + std::to_string(predictions[std::size_t(i)]);
    canvas.text(x + (data.cols * kScale - text_width(label)) / 2, y + data.rows * kScale + 3, label,
                Color{178, 24, 43});
  }
  return canvas;
}

std::vector<LogEpoch> read_training_log(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw DataError("cannot open training log " + path);
  std::vector<LogEpoch> run;
  std::string line;
  int number = 0;
  while (std::getline(f, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = "training log " + path + " line " + std::to_string(number);
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) throw DataError(where + ": not a JSON object");
    for (const char* field : {"epoch", "train_loss", "train_accuracy"})
      if (!j.contains(field) || !j[field].is_number())
        throw DataError(where + ": expected a number in field '" + field + "'");
    LogEpoch e;
    e.epoch = j["epoch"].get<int>();
    e.train_loss = j["train_loss"].get<double>();
    e.train_accuracy = j["train_accuracy"].get<double>();
    if (j.contains("test_loss") && j["test_loss"].is_number()) e.test_loss = j["test_loss"].get<double>();
    if (j.contains("test_accuracy") && j["test_accuracy"].is_number())
      e.test_accuracy = j["test_accuracy"].get<double>();
    if (!run.empty() && e.epoch <= run.back().epoch) run.clear();  // a new run appended to the file
    run.push_back(e);
  }
  if (run.empty()) throw DataError("training log " + path + " holds no epochs");
  return run;
}

namespace {

struct Series {
  std::vector<double> x, y;
  Color color;
  std::string name;
};

// One panel of a line plot: frame, ticks, labels, series with dots at the points, and a legend.
void plot_panel(Canvas& canvas, int left, int top, int width, int height, const std::string& title,
                const std::string& y_label, const std::vector<Series>& series) {
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  for (const auto& s : series)
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i]), y1 = std::max(y1, s.y[i]);
    }
  if (x0 > x1) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 <= x0) x1 = x0 + 1;
  const double pad = (y1 - y0) * 0.08 + 1e-9;
  y0 -= pad, y1 += pad;
  const std::vector<double> yt = nice_ticks(y0, y1, 5),
                            xt = nice_ticks(x0, x1, std::min(10, int(x1 - x0) + 1));
  auto px = [&](double x) { return left + int(std::lround((x - x0) / (x1 - x0) * width)); };
  auto py = [&](double y) { return top + height - int(std::lround((y - y0) / (y1 - y0) * height)); };
  canvas.text(left, top - 24, title, kBlack);
  canvas.text(left, top - 12, y_label, kTextGrey);
  for (double t : yt) {
    if (py(t) < top || py(t) > top + height) continue;
    canvas.line(left, py(t), left + width, py(t), Color{235, 235, 235});
    const double step = yt.size() > 1 ? yt[1] - yt[0] : 1;
    const std::string label = format(step < 0.01  ? "%.3f"
                                     : step < 0.1 ? "%.2f"
                                     : step < 1   ? "%.1f"
                                                  : "%.0f",
                                     t);
    canvas.text(left - text_width(label) - 4, py(t) - 3, label, kTextGrey);
  }
  for (double t : xt) {
    if (std::abs(t - std::round(t)) > 1e-9) continue;
    canvas.line(px(t), top + height, px(t), top + height + 3, kTextGrey);
    const std::string label = std::to_string(int(std::lround(t)));
    canvas.text(px(t) - text_width(label) / 2, top + height + 6, label, kTextGrey);
  }
  canvas.text(left + width / 2 - text_width("EPOCH") / 2, top + height + 18, "EPOCH", kTextGrey);
  canvas.frame(left, top, width + 1, height + 1, kTextGrey);
  int legend_x = left + width;  // legend above the frame's right end, right to left
  for (auto it = series.rbegin(); it != series.rend(); ++it) {
    if (it->x.empty()) continue;
    legend_x -= text_width(it->name) + 24;
    canvas.fill(legend_x, top - 9, 12, 3, it->color);
    canvas.text(legend_x + 16, top - 12, it->name, it->color);
  }
  for (const auto& s : series) {
    for (std::size_t i = 0; i + 1 < s.x.size(); ++i)
      for (int d = 0; d < 2; ++d)  // 2 px thick
        canvas.line(px(s.x[i]), py(s.y[i]) + d, px(s.x[i + 1]), py(s.y[i + 1]) + d, s.color);
    for (std::size_t i = 0; i < s.x.size(); ++i) canvas.fill(px(s.x[i]) - 2, py(s.y[i]) - 2, 5, 5, s.color);
  }
}

}  // namespace

Canvas training_curves_picture(const std::vector<LogEpoch>& log) {
  Canvas canvas(960, 380);
  Series train_loss{{}, {}, kTrainColor, "TRAIN"}, test_loss{{}, {}, kTestColor, "TEST"};
  Series train_acc{{}, {}, kTrainColor, "TRAIN"}, test_acc{{}, {}, kTestColor, "TEST"};
  for (const auto& e : log) {
    train_loss.x.push_back(e.epoch), train_loss.y.push_back(e.train_loss);
    train_acc.x.push_back(e.epoch), train_acc.y.push_back(100 * e.train_accuracy);
    if (e.test_loss >= 0) test_loss.x.push_back(e.epoch), test_loss.y.push_back(e.test_loss);
    if (e.test_accuracy >= 0) test_acc.x.push_back(e.epoch), test_acc.y.push_back(100 * e.test_accuracy);
  }
  plot_panel(canvas, 70, 50, 370, 270, "LOSS PER EPOCH", "MEAN LOSS", {train_loss, test_loss});
  plot_panel(canvas, 550, 50, 370, 270, "ACCURACY PER EPOCH", "ACCURACY %", {train_acc, test_acc});
  return canvas;
}

namespace {

// One map into a canvas region: normalised on its own.
void draw_map(Canvas& canvas, int x, int y, const float* map, int rows, int cols, int scale,
              bool signed_values) {
  float lo = map[0], hi = map[0];
  for (int i = 0; i < rows * cols; ++i) lo = std::min(lo, map[i]), hi = std::max(hi, map[i]);
  const float reach = std::max(std::abs(lo), std::abs(hi));
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      const float v = map[r * cols + c];
      Color color;
      if (signed_values)
        color = diverging_color(reach > 0 ? 0.5 + 0.5 * v / reach : 0.5);
      else
        color = sequential_color(
            hi > std::min(lo, 0.0f) ? (v - std::min(lo, 0.0f)) / (hi - std::min(lo, 0.0f)) : 0.0);
      canvas.fill(x + c * scale, y + r * scale, scale, scale, color);
    }
  canvas.frame(x - 1, y - 1, cols * scale + 2, rows * scale + 2, kGridGrey);
}

}  // namespace

Canvas feature_maps_picture(const float* maps, int count, int rows, int cols, int scale, int per_row,
                            bool signed_values) {
  const int gap = std::max(6, scale * 2), label_h = kCellHeight + 2;
  const int grid_rows = (count + per_row - 1) / per_row;
  Canvas canvas(per_row * (cols * scale + gap) + gap, grid_rows * (rows * scale + gap + label_h) + gap);
  for (int k = 0; k < count; ++k) {
    const int x = gap + (k % per_row) * (cols * scale + gap);
    const int y = gap + (k / per_row) * (rows * scale + gap + label_h);
    canvas.text(x, y, std::to_string(k), kTextGrey);
    draw_map(canvas, x, y + label_h, maps + std::size_t(k) * rows * cols, rows, cols, scale, signed_values);
  }
  return canvas;
}

Canvas kernels_picture(const Lenet5& model, int scale) {
  const float* w = model.params.data() + model.at.c1_w;
  return feature_maps_picture(w, model.c1.out_c, model.c1.k, model.c1.k, scale, model.c1.out_c, true);
}

Canvas network_picture(const Lenet5& model, const Activations& a, const MnistImage& input,
                       const std::array<float, kClasses>& probabilities) {
  const bool paper = model.arch() == Arch::Lenet5_1998;
  constexpr int kLeft = 110;
  Canvas canvas(kLeft + 16 * 56 + 20, 700);
  int y = 12;
  canvas.text(8, y,
              std::string("LENET-5 (") + std::string(arch_name(model.arch())) + "): WHAT THE NETWORK SEES",
              kBlack);
  y += 24;
  auto row = [&](const std::string& name, const std::string& what, const Canvas& picture) {
    canvas.text(8, y + 8, name, kBlack);
    canvas.text(8, y + 20, what, kTextGrey);
    canvas.paste(kLeft, y, picture);
    y += picture.height() + 8;
  };
  Canvas in(28 * 3 + 200, std::max(28 * 3 + 4, kClasses * 9));
  in.grey(1, 1, input.data(), kMnistSide, kMnistSide, 3, true);
  in.frame(0, 0, 28 * 3 + 2, 28 * 3 + 2, kGridGrey);
  // Class probabilities as bars beside the input.
  for (int c = 0; c < kClasses; ++c) {
    const int bx = 28 * 3 + 20, by = c * 9;
    in.text(bx, by, std::to_string(c), kTextGrey);
    in.fill(bx + 10, by + 1, int(std::lround(probabilities[c] * 150)), 6, kTrainColor);
  }
  row("INPUT", "28X28", in);
  row("C1", "6@28X28", feature_maps_picture(a.c1.data(), 6, 28, 28, 2, 16, paper));
  row("S2", "6@14X14", feature_maps_picture(a.s2.data(), 6, 14, 14, 3, 16, paper));
  row("C3", "16@10X10", feature_maps_picture(a.c3.data(), 16, 10, 10, 4, 16, paper));
  row("S4", "16@5X5", feature_maps_picture(a.s4.data(), 16, 5, 5, 8, 16, paper));
  row("C1 KERNELS", "6@5X5", kernels_picture(model, 8));
  Canvas out(canvas.width(), y + 4);
  out.paste(0, 0, canvas);
  return out;
}

}  // namespace lenet
