<?php
/**
 * Runs the PHP sample of docs/cms-integration.md (its file is argv[1]) for tests/cms: one JSON
 * command a line on stdin ({"token": "<JWT>"}), one JSON answer a line on stdout
 * ({"perks": [...] | null}), each line a page view with that access_token cookie.
 */

declare(strict_types=1);

require $argv[1];

while (($line = fgets(STDIN)) !== false) {
    $command = json_decode($line, true, 8, JSON_THROW_ON_ERROR);
    $_COOKIE = ['access_token' => $command['token']];
    clearstatcache();  // as a new request would: the key-set file's age is read again
    echo json_encode(['perks' => reader_perks()], JSON_THROW_ON_ERROR), "\n";
}
