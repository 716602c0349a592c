<?php
/**
 * The one outside address this plugin ever calls: the membership backend, over WordPress's HTTP
 * API, with a short timeout and no redirects.
 */

declare(strict_types=1);

namespace MembershipAccess;

final class Backend
{
    private const PROBLEM = 'membership_access_problem';

    /**
     * GET a JSON document from the backend.
     *
     * @param array<string, string|list<string>> $query repeated values become repeated parameters (tag=a&tag=b)
     * @param array<string, string> $headers
     * @return array{status: int, body: array<mixed>|null}|null null when the backend cannot be reached
     */
    public static function get(string $path, array $query = [], bool $with_key = false, array $headers = []): ?array
    {
        $base = Settings::backend_url();
        if ($base === '') {
            return null;
        }
        $url = $base . $path . ($query ? '?' . self::query($query) : '');
        if ($with_key && Settings::api_key() !== '') {
            $headers['X-API-Key'] = Settings::api_key();
        }
        $timeout = (float) apply_filters('membership_access_timeout', 3.0);
        // wp_remote_get, not wp_safe_remote_get: the address is the admin's own backend, which
        // may well sit on a private network or a port of its own.
        $response = wp_remote_get($url, [
            'timeout' => $timeout,
            'redirection' => 0,
            'headers' => $headers + ['Accept' => 'application/json'],
            'user-agent' => 'membership-access/' . VERSION . '; WordPress/' . get_bloginfo('version'),
        ]);
        if (is_wp_error($response)) {
            self::problem(sprintf('%s: %s', $path, $response->get_error_message()));
            return null;
        }
        $status = (int) wp_remote_retrieve_response_code($response);
        $body = json_decode((string) wp_remote_retrieve_body($response), true);
        return ['status' => $status, 'body' => is_array($body) ? $body : null];
    }

    /** A query string with repeated keys for list values, each value percent-encoded. */
    public static function query(array $query): string
    {
        $pairs = [];
        foreach ($query as $name => $value) {
            foreach ((array) $value as $item) {
                $pairs[] = rawurlencode((string) $name) . '=' . rawurlencode((string) $item);
            }
        }
        return implode('&', $pairs);
    }

    /** Log a problem with the backend for the operator, and keep the latest for the settings page. */
    public static function problem(string $message): void
    {
        error_log('membership-access: ' . $message);
        set_transient(self::PROBLEM, ['message' => $message, 'at' => time()], DAY_IN_SECONDS);
    }

    /** @return array{message: string, at: int}|null */
    public static function last_problem(): ?array
    {
        $found = get_transient(self::PROBLEM);
        return is_array($found) ? $found : null;
    }
}
