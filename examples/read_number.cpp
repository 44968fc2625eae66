// Example (lenet::vision): read the number written in a picture (PNG, JPEG, BMP, PGM/PPM; a photo or a
// scan), or classify the one digit in it. Usage: read_number MODEL PICTURE
// Prints the number, then one line per digit: "DIGIT CONFIDENCE x y w h" (its box in the picture).
#include <lenet/lenet.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: read_number MODEL PICTURE\n");
    return 2;
  }
  try {
    const lenet::Classifier classifier(argv[1]);
    const lenet::Reading reading = lenet::read_number(classifier, argv[2]);
    std::printf("%s\n", reading.text.c_str());
    for (const lenet::ReadDigit& d : reading.digits)
      std::printf("%d %.3f %d %d %d %d\n", d.guess.digit, double(d.guess.confidence), d.box.x, d.box.y,
                  d.box.w, d.box.h);
  } catch (const std::exception& e) {  // lenet::ImageError, lenet::ModelFileError
    std::fprintf(stderr, "read_number: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
