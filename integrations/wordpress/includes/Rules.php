<?php
/**
 * Which perk a post needs, by the access rules kept in the backend.
 *
 * A post is described to the backend in its own terms: `article` is its address (the permalink's
 * path with pretty permalinks, else the post id), and every tag and category slug is a `tag`. The
 * backend's answer about "nobody in particular" (the API key, no member, peek=1) names the
 * required perk; it is cached per post description in a transient for FRESH seconds, written
 * only when asked. When the backend cannot be reached the last answer is used (for up to a day),
 * and no question is tried again for BACKOFF seconds.
 */

declare(strict_types=1);

namespace MembershipAccess;

final class Rules
{
    private const PREFIX = 'membership_access_rule_';
    private const BACKOFF_TRANSIENT = 'membership_access_rules_backoff';
    private const KEEP = DAY_IN_SECONDS;
    private const BACKOFF = 30;
    private const MAX_TAGS = 20;  // what the backend accepts

    /** @var array<int, array{known: bool, perk: ?string}> this request's answers by post id */
    private static array $memo = [];

    /**
     * The perk a post needs.
     *
     * @return array{known: bool, perk: ?string} known is false when the backend never answered
     */
    public static function requirement(\WP_Post $post): array
    {
        if (isset(self::$memo[$post->ID])) {
            return self::$memo[$post->ID];
        }
        $article = self::article_ref($post);
        $tags = self::tags($post);
        $name = self::PREFIX . md5(Settings::backend_url() . "\n" . Settings::generation() . "\n" . $article . "\n" . implode("\n", $tags));
        $cached = get_transient($name);
        $cached = is_array($cached) && is_int($cached['at'] ?? null) && array_key_exists('perk', $cached) ? $cached : null;
        if ($cached !== null && time() - $cached['at'] < self::fresh_for()) {
            return self::$memo[$post->ID] = ['known' => true, 'perk' => $cached['perk']];
        }
        $asked = self::ask($article, $tags);
        if ($asked !== null) {
            set_transient($name, ['perk' => $asked['perk'], 'at' => time()], self::KEEP);
            return self::$memo[$post->ID] = ['known' => true, 'perk' => $asked['perk']];
        }
        return self::$memo[$post->ID] = $cached !== null
            ? ['known' => true, 'perk' => $cached['perk']]
            : ['known' => false, 'perk' => null];
    }

    /** The `article` the backend is told: the permalink's path, or the post id without pretty permalinks. */
    public static function article_ref(\WP_Post $post): string
    {
        $ref = (string) $post->ID;
        if (get_option('permalink_structure')) {
            $path = wp_parse_url((string) get_permalink($post), PHP_URL_PATH);
            if (is_string($path) && $path !== '' && $path !== '/') {
                $ref = $path;
            }
        }
        return substr((string) apply_filters('membership_access_article_ref', $ref, $post), 0, 255);
    }

    /**
     * The post's tag and category slugs, sent as `tag`, sorted, at most MAX_TAGS.
     *
     * @return list<string>
     */
    public static function tags(\WP_Post $post): array
    {
        $slugs = [];
        foreach (['post_tag', 'category'] as $taxonomy) {
            $terms = get_the_terms($post, $taxonomy);
            if (is_array($terms)) {
                foreach ($terms as $term) {
                    $slugs[] = rawurldecode($term->slug);  // non-Latin slugs are stored percent-encoded
                }
            }
        }
        $slugs = array_values(array_unique(array_filter(
            (array) apply_filters('membership_access_tags', $slugs, $post),
            static fn ($slug) => is_string($slug) && $slug !== '' && strlen($slug) <= 255
        )));
        sort($slugs);
        return array_slice($slugs, 0, self::MAX_TAGS);
    }

    /** @return array{perk: ?string}|null null when the backend gave no usable answer */
    private static function ask(string $article, array $tags): ?array
    {
        if (Settings::backend_url() === '' || get_transient(self::BACKOFF_TRANSIENT)) {
            return null;
        }
        $answer = Backend::get('/api/v1/access', ['article' => $article, 'tag' => $tags, 'peek' => '1'], true);
        $body = $answer['body'] ?? null;
        if ($answer !== null && $answer['status'] === 200 && is_array($body) && array_key_exists('required_perk', $body)) {
            $perk = $body['required_perk'];
            return ['perk' => is_string($perk) && $perk !== '' ? $perk : null];
        }
        $status = $answer['status'] ?? 0;
        if ($answer === null || $status === 401 || $status >= 500) {
            set_transient(self::BACKOFF_TRANSIENT, 1, self::BACKOFF);  // the backend, not this post
        }
        if ($answer !== null) {
            Backend::problem($status === 401 ? 'the backend refuses the API key' : "the access API answered $status about $article");
        }
        return null;
    }

    /** Seconds an answer is used before the backend is asked again (default 300). */
    private static function fresh_for(): int
    {
        return max(1, (int) apply_filters('membership_access_rules_fresh_for', 300));
    }
}
