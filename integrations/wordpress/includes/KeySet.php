<?php
/**
 * The backend's public signing keys (GET /api/v1/keys, a JWK set), cached in a transient.
 *
 * The transient is written only when the set is fetched, never on a hit, so it ages: after
 * FRESH seconds the next reader's request fetches it again. A token naming a key id the set
 * lacks fetches it at once (a key rotation), at most once per COOLDOWN seconds so that forged
 * key ids cannot make every request a fetch. When the backend cannot be reached, the last set
 * keeps working (for up to a day) and no fetch is tried for BACKOFF seconds.
 */

declare(strict_types=1);

namespace MembershipAccess;

final class KeySet
{
    public const TRANSIENT = 'membership_access_jwks';
    private const BACKOFF_TRANSIENT = 'membership_access_jwks_backoff';
    private const KEEP = DAY_IN_SECONDS;
    private const BACKOFF = 30;

    /** This request's copy: read once per request, whatever the number of posts. */
    private static ?array $memo = null;
    private static bool $fetched_now = false;

    /**
     * The 32-byte Ed25519 public key for a key id.
     *
     * @return array{status: 'found', key: string}|array{status: 'unknown'}|array{status: 'unavailable'}
     *   unknown: the set, fetched just now, lacks the id (the token is not ours);
     *   unavailable: no set can be had, or the id may be new but a fetch is not allowed yet.
     */
    public static function find(string $kid): array
    {
        $set = self::cached();
        if ($set === null || time() - $set['fetched_at'] >= self::fresh_for()) {
            $set = self::fetch() ?? $set;
        }
        if ($set !== null && isset($set['keys'][$kid])) {
            return ['status' => 'found', 'key' => $set['keys'][$kid]];
        }
        if ($set !== null && !self::$fetched_now && time() - $set['fetched_at'] >= self::cooldown()) {
            $set = self::fetch() ?? $set;  // a key id we have not seen: the backend may have rotated
            if (isset($set['keys'][$kid])) {
                return ['status' => 'found', 'key' => $set['keys'][$kid]];
            }
        }
        return ['status' => self::$fetched_now ? 'unknown' : 'unavailable'];
    }

    /** Drop the cached set (the backend address changed). */
    public static function forget(): void
    {
        self::$memo = null;
        self::$fetched_now = false;
        delete_transient(self::TRANSIENT);
        delete_transient(self::BACKOFF_TRANSIENT);
    }

    /**
     * The usable keys of a JWK set: Ed25519 (OKP) signing keys with an id, as kid => raw key.
     *
     * @return array<string, string>
     */
    public static function parse(?array $jwks): array
    {
        $keys = [];
        foreach ((array) ($jwks['keys'] ?? []) as $jwk) {
            if (!is_array($jwk) || ($jwk['kty'] ?? '') !== 'OKP' || ($jwk['crv'] ?? '') !== 'Ed25519') {
                continue;
            }
            if ((isset($jwk['alg']) && $jwk['alg'] !== 'EdDSA') || (isset($jwk['use']) && $jwk['use'] !== 'sig')) {
                continue;
            }
            $kid = $jwk['kid'] ?? null;
            $raw = is_string($jwk['x'] ?? null) ? Verifier::base64url_decode($jwk['x']) : null;
            if (is_string($kid) && $kid !== '' && $raw !== null && strlen($raw) === SODIUM_CRYPTO_SIGN_PUBLICKEYBYTES) {
                $keys[$kid] = $raw;
            }
        }
        return $keys;
    }

    /** Seconds a fetched set is used before it is fetched again (default 300). */
    private static function fresh_for(): int
    {
        return max(1, (int) apply_filters('membership_access_keys_fresh_for', 300));
    }

    /** Least seconds between two fetches for an unknown key id (default 30). */
    private static function cooldown(): int
    {
        return max(0, (int) apply_filters('membership_access_keys_cooldown', 30));
    }

    /** @return array{url: string, fetched_at: int, keys: array<string, string>}|null */
    private static function cached(): ?array
    {
        if (self::$memo === null) {
            $found = get_transient(self::TRANSIENT);
            $usable = is_array($found) && ($found['url'] ?? null) === Settings::backend_url()
                && is_int($found['fetched_at'] ?? null) && is_array($found['keys'] ?? null);
            if ($usable) {
                $found['keys'] = array_map('base64_decode', $found['keys']);
                self::$memo = $found;
            }
        }
        return self::$memo;
    }

    /** Fetch the set now and store it; null when the backend fails (and then rest a while). */
    private static function fetch(): ?array
    {
        if (self::$fetched_now || get_transient(self::BACKOFF_TRANSIENT)) {
            return null;
        }
        $answer = Backend::get('/api/v1/keys');
        $keys = $answer !== null && $answer['status'] === 200 ? self::parse($answer['body']) : [];
        if ($keys === []) {
            set_transient(self::BACKOFF_TRANSIENT, 1, self::BACKOFF);
            if ($answer !== null) {
                Backend::problem(sprintf('/api/v1/keys answered %d without Ed25519 keys', $answer['status']));
            }
            return null;
        }
        $set = ['url' => Settings::backend_url(), 'fetched_at' => time(), 'keys' => $keys];
        set_transient(self::TRANSIENT, ['keys' => array_map('base64_encode', $keys)] + $set, self::KEEP);
        self::$memo = $set;
        self::$fetched_now = true;
        return $set;
    }
}
