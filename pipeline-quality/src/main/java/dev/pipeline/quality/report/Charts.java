package dev.pipeline.quality.report;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Inline SVG plots for the HTML report: no script, every label escaped, sizes fixed. A plot with
 * more points than {@value #MAX_POINTS} shows the last ones.
 */
final class Charts {

  static final int MAX_POINTS = 500;
  static final int MAX_BARS = 40;
  static final String[] COLORS = {
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#7f7f7f"
  };

  private static final int WIDTH = 720;
  private static final int HEIGHT = 240;
  private static final int LEFT = 48;
  private static final int RIGHT = 150;
  private static final int TOP = 16;
  private static final int BOTTOM = 36;

  private Charts() {}

  /**
   * Lines over a shared x axis of {@code labels}, y from {@code min} to {@code max}; a NaN point
   * breaks its line.
   */
  static String lines(
      String title, List<String> labels, Map<String, double[]> series, double min, double max) {
    int n = Math.min(labels.size(), MAX_POINTS);
    int skip = labels.size() - n;
    double plotW = WIDTH - LEFT - RIGHT;
    double plotH = HEIGHT - TOP - BOTTOM;
    StringBuilder svg = open(title, WIDTH, HEIGHT);
    for (int t = 0; t <= 4; t++) {
      double v = min + (max - min) * t / 4;
      double y = TOP + plotH - plotH * t / 4;
      svg.append(
          String.format(
              Locale.ROOT,
              "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
                  + "<text x=\"%d\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%s</text>",
              LEFT,
              y,
              LEFT + plotW,
              y,
              LEFT - 6,
              y + 4,
              Text.html(max - min > 10 ? Text.score(v) : Text.number(v))));
    }
    for (int i : n <= 1 ? new int[] {0} : new int[] {0, (n - 1) / 2, n - 1}) {
      if (i < n) {
        svg.append(
            String.format(
                Locale.ROOT,
                "<text x=\"%.1f\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">%s</text>",
                x(i, n, plotW),
                HEIGHT - BOTTOM + 18,
                Text.html(Text.clip(labels.get(skip + i), 20))));
      }
    }
    int color = 0;
    for (Map.Entry<String, double[]> s : series.entrySet()) {
      String stroke = COLORS[color % COLORS.length];
      StringBuilder points = new StringBuilder();
      double[] values = s.getValue();
      for (int i = 0; i < n; i++) {
        double v = skip + i < values.length ? values[skip + i] : Double.NaN;
        if (Double.isNaN(v)) {
          flush(svg, points, stroke);
          continue;
        }
        double clamped = Math.max(min, Math.min(max, v));
        points.append(
            String.format(
                Locale.ROOT,
                "%.1f,%.1f ",
                x(i, n, plotW),
                TOP + plotH - plotH * (clamped - min) / (max - min)));
      }
      flush(svg, points, stroke);
      svg.append(
          String.format(
              Locale.ROOT,
              "<rect x=\"%.1f\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                  + "<text x=\"%.1f\" y=\"%d\" class=\"legend\">%s</text>",
              LEFT + plotW + 12,
              TOP + 16 * color,
              stroke,
              LEFT + plotW + 26,
              TOP + 16 * color + 9,
              Text.html(Text.clip(s.getKey(), 18))));
      color++;
    }
    return svg.append("</svg>").toString();
  }

  private static double x(int i, int n, double plotW) {
    return n <= 1 ? LEFT + plotW / 2 : LEFT + plotW * i / (n - 1);
  }

  private static void flush(StringBuilder svg, StringBuilder points, String stroke) {
    if (points.isEmpty()) {
      return;
    }
    String p = points.toString().trim();
    if (p.indexOf(' ') < 0) { // one point: a dot
      String[] xy = p.split(",");
      svg.append("<circle cx=\"")
          .append(xy[0])
          .append("\" cy=\"")
          .append(xy[1])
          .append("\" r=\"2.5\" fill=\"")
          .append(stroke)
          .append("\"/>");
    } else {
      svg.append("<polyline fill=\"none\" stroke-width=\"2\" stroke=\"")
          .append(stroke)
          .append("\" points=\"")
          .append(p)
          .append("\"/>");
    }
    points.setLength(0);
  }

  /**
   * Horizontal bars, one per label, scaled to the largest of the values and the marks; each mark
   * (e.g. a threshold) a dashed vertical line with its label.
   */
  static String bars(
      String title,
      List<String> labels,
      double[] values,
      List<String> colors,
      Map<String, Double> marks) {
    int n = Math.min(labels.size(), MAX_BARS);
    int row = 22;
    int labelW = 220;
    int width = WIDTH;
    int height = TOP + n * row + BOTTOM;
    double plotW = width - labelW - 60;
    double max = 0;
    for (int i = 0; i < n; i++) {
      if (Double.isFinite(values[i])) {
        max = Math.max(max, values[i]);
      }
    }
    for (double m : marks.values()) {
      max = Math.max(max, m * 1.2);
    }
    if (max <= 0) {
      max = 1;
    }
    StringBuilder svg = open(title, width, height);
    for (int i = 0; i < n; i++) {
      double v = Double.isFinite(values[i]) ? Math.max(0, values[i]) : 0;
      double y = TOP + i * row;
      svg.append(
          String.format(
              Locale.ROOT,
              "<text x=\"%d\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%s</text>"
                  + "<rect x=\"%d\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>"
                  + "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\">%s</text>",
              labelW - 6,
              y + 14,
              Text.html(Text.clip(labels.get(i), 36)),
              labelW,
              y + 3,
              plotW * Math.min(v, max) / max,
              row - 6,
              Text.html(colors.get(i)),
              labelW + plotW * Math.min(v, max) / max + 4,
              y + 14,
              Text.html(Double.isFinite(values[i]) ? Text.number(values[i]) : "n/a")));
    }
    for (Map.Entry<String, Double> m : marks.entrySet()) {
      double x = labelW + plotW * m.getValue() / max;
      svg.append(
          String.format(
              Locale.ROOT,
              "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" class=\"mark\"/>"
                  + "<text x=\"%.1f\" y=\"%d\" class=\"tick\" text-anchor=\"middle\">%s</text>",
              x,
              TOP - 4,
              x,
              TOP + n * row,
              x,
              TOP + n * row + 16,
              Text.html(m.getKey())));
    }
    return svg.append("</svg>").toString();
  }

  private static StringBuilder open(String title, int width, int height) {
    return new StringBuilder(4096)
        .append(
            String.format(
                Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0"
                    + " %d %d\" role=\"img\"><title>",
                width,
                height,
                width,
                height))
        .append(Text.html(title))
        .append("</title>");
  }
}
