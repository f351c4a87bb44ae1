/** Code the library's modules share that is not API: not exported but to those modules. */
@NullMarked
package dev.pipeline.internal;

import org.jspecify.annotations.NullMarked;
