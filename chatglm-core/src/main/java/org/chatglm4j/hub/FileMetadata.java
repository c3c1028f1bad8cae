package org.chatglm4j.hub;

import java.net.URI;

/**
 * What the hub says about one file before it is downloaded.
 *
 * @param file        the file name in the repository
 * @param commit      the commit the hub served it from ({@code X-Repo-Commit}), or null when not said
 * @param etag        content id, normalized (no quotes or {@code W/}): the sha256 of LFS files, the git blob id
 *                    of others; the blob's file name in the cache
 * @param size        bytes, or -1 when unknown
 * @param downloadUri where the bytes are fetched from (often a CDN the hub redirects to)
 */
record FileMetadata(String file, String commit, String etag, long size, URI downloadUri) {

    /** The expected sha256 of the content, when the etag is one (LFS files), else null. */
    String sha256() {
        return etag.length() == 64 && etag.chars().allMatch(c -> Character.digit(c, 16) >= 0) ? etag : null;
    }
}
