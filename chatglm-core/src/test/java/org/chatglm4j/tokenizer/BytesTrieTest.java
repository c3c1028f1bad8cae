package org.chatglm4j.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** The sorted-keys trie: its radix sort against a comparator sort, and prefix walks against brute force. */
class BytesTrieTest {

    static byte[][] randomKeys(Random rnd, int n) {
        Set<String> seen = new LinkedHashSet<>();
        List<byte[]> keys = new ArrayList<>();
        while (keys.size() < n) {
            byte[] k = new byte[1 + rnd.nextInt(rnd.nextInt(10) == 0 ? 40 : 6)];
            for (int i = 0; i < k.length; i++) {
                // a small alphabet (long shared prefixes) with zero bytes and high bytes
                int r = rnd.nextInt(6);
                k[i] = (byte) (r == 0 ? 0 : r == 1 ? 0xFF : r == 2 ? 0x80 : 'a' + rnd.nextInt(3));
            }
            if (seen.add(Arrays.toString(k))) keys.add(k);
        }
        return keys.toArray(byte[][]::new);
    }

    @Test
    void radixOrderEqualsComparatorOrder() {
        Random rnd = new Random(1);
        for (int round = 0; round < 20; round++) {
            byte[][] keys = randomKeys(rnd, 1 + rnd.nextInt(3000));
            int[] ids = new int[keys.length];
            for (int i = 0; i < ids.length; i++) ids[i] = i;
            Integer[] expected = Arrays.stream(ids).boxed().toArray(Integer[]::new);
            Arrays.sort(expected, (a, b) -> Arrays.compareUnsigned(keys[a], keys[b]));
            assertThat(BytesTrie.sortedOrder(keys, ids)).containsExactly(Arrays.stream(expected).mapToInt(i -> i).toArray());
        }
    }

    @Test
    void equalKeysEndUpAdjacentAndLongSharedPrefixesAreFine() {
        byte[] prefix = new byte[200_000]; // a worklist, not recursion: no stack overflow
        Arrays.fill(prefix, (byte) 'x');
        byte[][] keys = new byte[40][];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = Arrays.copyOf(prefix, prefix.length + 1);
            keys[i][prefix.length] = (byte) (i % 20);
        }
        int[] order = BytesTrie.sortedOrder(keys, java.util.stream.IntStream.range(0, 40).toArray());
        for (int i = 0; i < 40; i += 2) {
            assertThat(keys[order[i]]).isEqualTo(keys[order[i + 1]]);
            assertThat(order[i] % 20).isEqualTo(i / 2);
        }
    }

    @Test
    void walksFindEveryPrefixKey() {
        Random rnd = new Random(2);
        byte[][] keys = randomKeys(rnd, 2000);
        int[] ids = java.util.stream.IntStream.range(0, keys.length).toArray();
        BytesTrie trie = new BytesTrie(keys, BytesTrie.sortedOrder(keys, ids));
        for (int round = 0; round < 2000; round++) {
            byte[] text = randomKeys(rnd, 1)[0];
            int from = rnd.nextInt(text.length);
            List<Integer> expected = new ArrayList<>();
            for (int len = 1; from + len <= text.length; len++) {
                for (int id = 0; id < keys.length; id++) {
                    if (Arrays.equals(keys[id], Arrays.copyOfRange(text, from, from + len))) expected.add(id);
                }
            }
            List<Integer> found = new ArrayList<>();
            BytesTrie.Cursor c = trie.cursor();
            for (int i = from; i < text.length && c.next(text[i]); i++) {
                if (c.value() >= 0) found.add(c.value());
            }
            assertThat(found).isEqualTo(expected);
            int longest = expected.isEmpty() ? 0 : keys[expected.get(expected.size() - 1)].length;
            assertThat(trie.longestPrefix(text, from, text.length)).isEqualTo(longest);
        }
        for (int id = 0; id < keys.length; id++) assertThat(trie.get(keys[id], 0, keys[id].length)).isEqualTo(id);
    }
}
