// pot report renders an audited bundle as one self-contained page; checked in headless Chromium.
#include "report/report.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace pot {
namespace {

using test::RunPot;

std::string Member(const std::string& name) { return test::TestbedDir() + "/" + name + ".gguf"; }

TEST(Report, EscapesEverythingItQuotes) {
  EXPECT_EQ(report::EscapeHtml("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;");
}

// A run whose challenges are hostile HTML (a corpus of script tags), rendered and opened in Chromium: the
// verdict and the plot are on the page, and no challenge text became markup.
TEST(Report, RendersVerdictAndPlotInHeadlessChromium) {
  test::TempDir dir;
  std::string corpus;
  for (int i = 0; i < 20; ++i) corpus += "<script>document.title='owned " + std::to_string(i) + "'</script> & more\n";
  test::WriteBytes(dir.File("corpus.txt"), corpus);
  ASSERT_EQ(RunPot("keygen -o " + dir.File("signer")).exit_code, 0);
  auto run = RunPot("verify --quiet --mode quick --ref " + Member("base") + " --cand " + Member("base-copy") +
                    " --family corpus --corpus " + dir.File("corpus.txt") + " --sign " + dir.File("signer") + " -o " +
                    dir.File("run"));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto r = RunPot("report " + dir.File("run/bundle.json") + " -o " + dir.File("report.html") + " --trust " +
                  dir.File("signer.pub") + " --corpus " + dir.File("corpus.txt"));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string html = test::Slurp(dir.File("report.html"));
  EXPECT_EQ(html.find("<script"), std::string::npos) << "challenge text must never become markup";
  EXPECT_NE(html.find("&lt;script&gt;"), std::string::npos);
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg")) << "no network references";
  EXPECT_EQ(html.find("https://"), std::string::npos);

  const std::string dom = dir.File("dom.html");
  const std::string cmd = "chromium --headless --no-sandbox --disable-gpu --dump-dom file://" + dir.File("report.html") +
                          " > " + dom + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "chromium is installed by scripts/deps.sh";
  const std::string rendered = test::Slurp(dom);
  EXPECT_NE(rendered.find("<span id=\"verdict\">SAME</span>"), std::string::npos) << rendered.substr(0, 400);
  EXPECT_NE(rendered.find("<svg id=\"confidence-plot\""), std::string::npos);
  EXPECT_NE(rendered.find("class=\"upper\""), std::string::npos);
  EXPECT_NE(rendered.find("<title>pot verify: SAME</title>"), std::string::npos) << "no script changed the page";
  EXPECT_NE(rendered.find("audit <span class=\"pass\">PASSED</span>"), std::string::npos);

  // A screenshot, for people: build/tests/report-screenshot.png.
  const std::string shot = "chromium --headless --no-sandbox --disable-gpu --window-size=1100,1400 --screenshot=" +
                           std::string(POT_TEST_OUTPUT_DIR) + "/report-screenshot.png file://" +
                           dir.File("report.html") + " >/dev/null 2>&1";
  EXPECT_EQ(std::system(shot.c_str()), 0);
}

}  // namespace
}  // namespace pot
