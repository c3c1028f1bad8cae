package org.chatglm4j.tokenizer;

import java.util.List;

/**
 * A left-padded batch as ChatGLM2/3's tokenizer {@code _pad} makes it: {@code inputIds}, {@code attentionMask}
 * (0 on padding) and {@code positionIds} (0 on padding, then 0, 1, … on the real tokens), one row per sequence.
 */
public record PaddedIds(int[][] inputIds, int[][] attentionMask, int[][] positionIds) {
    /** Pads every row on the left with {@code padId} to {@code length} (rows longer than that stay as they are). */
    public static PaddedIds left(List<int[]> rows, int length, int padId) {
        int b = rows.size();
        int[][] ids = new int[b][];
        int[][] mask = new int[b][];
        int[][] pos = new int[b][];
        for (int r = 0; r < b; r++) {
            int[] row = rows.get(r);
            int pad = Math.max(0, length - row.length);
            int n = pad + row.length;
            ids[r] = new int[n];
            mask[r] = new int[n];
            pos[r] = new int[n];
            java.util.Arrays.fill(ids[r], 0, pad, padId);
            System.arraycopy(row, 0, ids[r], pad, row.length);
            for (int i = 0; i < row.length; i++) {
                mask[r][pad + i] = 1;
                pos[r][pad + i] = i;
            }
        }
        return new PaddedIds(ids, mask, pos);
    }
}
