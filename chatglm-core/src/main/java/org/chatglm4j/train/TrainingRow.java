package org.chatglm4j.train;

import java.util.List;

/**
 * One row of a JSON-lines data file, as the columns chosen by the options read it.
 *
 * @param prompt   the prompt column (null when absent or JSON null)
 * @param response the response column
 * @param history  the history column's (query, response) pairs; empty without a history column
 * @param line     1-based line of the file
 */
public record TrainingRow(String prompt, String response, List<String[]> history, int line) {
}
