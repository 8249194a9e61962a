package io.simpletokenlimiter.tokens;

import java.nio.file.Path;

/**
 * What {@code tokenizer.json} holds that counting needs.
 *
 * @param source the file it was read from
 * @param rankBytes the bytes of each BPE rank, indexed by rank (= token id); {@code null} where the
 *     vocabulary has no such id
 * @param ranks how many ranks there are
 * @param added the added (special) tokens
 * @param splitPattern the pre-tokenizer's split regex as written in the file
 */
record Vocabulary(
    Path source, byte[][] rankBytes, int ranks, AddedTokens added, String splitPattern) {}
