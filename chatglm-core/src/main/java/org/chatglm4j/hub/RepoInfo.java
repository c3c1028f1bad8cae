package org.chatglm4j.hub;

import java.util.List;

/**
 * A repository revision as the hub's model API describes it.
 *
 * @param sha      the commit the revision resolves to
 * @param siblings the repository's file paths at that commit
 */
record RepoInfo(String sha, List<String> siblings) {
    RepoInfo {
        siblings = List.copyOf(siblings);
    }
}
