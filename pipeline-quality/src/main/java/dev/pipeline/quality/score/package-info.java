/** Quality scores per stage and window, 0 to 100, from rule verdict counts and field profiles. */
@NullMarked
package dev.pipeline.quality.score;

import org.jspecify.annotations.NullMarked;
